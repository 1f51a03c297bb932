/**
 * The on-disk format of FileStore's append-only log: a 16-byte header, then framed records. Pure, synchronous
 * functions over buffers; every I/O happens in `FileStore.ts` through the platform `FileSystem`.
 *
 * Header (16 bytes):
 *
 * ```
 * offset size
 *      0    8  magic "EFSESLOG"
 *      8    2  format version (u16 LE), currently 1
 *     10    2  flags (u16 LE), 0
 *     12    4  CRC-32 of bytes 0..11 (u32 LE)
 * ```
 *
 * Record (19 bytes + token + data), all integers little-endian:
 *
 * ```
 * offset        size
 *      0           4  body length (u32): everything after the checksum, 11 + token length + data length
 *      4           4  CRC-32 of the body length field and the body (u32)
 *      8           1  operation: 1 = put, 2 = delete
 *      9           2  token length in bytes (u16)
 *     11           t  token, UTF-8
 *   11+t           8  expiry, epoch milliseconds (f64; 0 for a delete)
 *   19+t           d  data (empty for a delete)
 * ```
 *
 * A record is accepted only if its length is within the limits, its checksum matches, its operation is known and
 * its token fits in the body. Replay stops at the first record that is not, and everything from there on is the
 * torn or corrupt tail.
 *
 * @internal
 */
import { crc32 } from "./crc32.js"

/** @internal */
export const MAGIC = Buffer.from("EFSESLOG", "latin1")

/** @internal */
export const VERSION = 1

/** @internal */
export const HEADER_SIZE = 16

/** Bytes a record takes besides its token and data. @internal */
export const RECORD_OVERHEAD = 19

/** @internal */
export const OP_PUT = 1

/** @internal */
export const OP_DELETE = 2

/** The longest token, in UTF-8 bytes (the u16 length field). @internal */
export const MAX_TOKEN_BYTES = 0xffff

/** The largest data a session can hold: 64 MiB. @internal */
export const MAX_DATA_BYTES = 64 * 1024 * 1024

const MIN_BODY = 11
const MAX_BODY = MIN_BODY + MAX_TOKEN_BYTES + MAX_DATA_BYTES

/** The header every log starts with. @internal */
export const encodeHeader = (): Buffer => {
  const header = Buffer.alloc(HEADER_SIZE)
  MAGIC.copy(header, 0)
  header.writeUInt16LE(VERSION, 8)
  header.writeUInt16LE(0, 10)
  header.writeUInt32LE(crc32(header, 0, 12), 12)
  return header
}

/** @internal */
export type HeaderCheck =
  | { readonly _tag: "Valid" }
  /** Empty, or a prefix of a header: a log whose creation was interrupted. Safe to initialize. */
  | { readonly _tag: "Blank" }
  | { readonly _tag: "Foreign" }
  /** The magic matches but the header's checksum does not. */
  | { readonly _tag: "Damaged" }
  | { readonly _tag: "UnsupportedVersion"; readonly version: number }

/** Classifies the first `length` bytes of a file (at most `HEADER_SIZE` are looked at). @internal */
export const checkHeader = (bytes: Uint8Array, length: number): HeaderCheck => {
  const expected = encodeHeader()
  if (length < HEADER_SIZE) {
    for (let i = 0; i < length; i++) {
      if (bytes[i] !== expected[i]) return { _tag: "Foreign" }
    }
    return { _tag: "Blank" }
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return { _tag: "Foreign" }
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_SIZE)
  if (view.readUInt32LE(12) !== crc32(view, 0, 12)) return { _tag: "Damaged" }
  const version = view.readUInt16LE(8)
  return version === VERSION ? { _tag: "Valid" } : { _tag: "UnsupportedVersion", version }
}

/** The size of the record for a token of `tokenBytes` UTF-8 bytes and `dataBytes` of data. @internal */
export const recordSize = (tokenBytes: number, dataBytes: number): number => RECORD_OVERHEAD + tokenBytes + dataBytes

/**
 * Encodes a put record into a fresh, unpooled buffer. Returns the record and a view of its data, which the
 * in-memory index keeps (so a session's bytes are held once, not twice).
 *
 * @internal
 */
export const encodePut = (
  token: Buffer,
  expiresAt: number,
  data: Uint8Array
): { readonly record: Buffer; readonly data: Uint8Array } => {
  const size = recordSize(token.length, data.length)
  const record = Buffer.allocUnsafeSlow(size)
  const dataOffset = RECORD_OVERHEAD + token.length
  writeFrame(record, OP_PUT, token, expiresAt)
  record.set(data, dataOffset)
  seal(record)
  return { record, data: new Uint8Array(record.buffer, record.byteOffset + dataOffset, data.length) }
}

/** Encodes a delete record. @internal */
export const encodeDelete = (token: Buffer): Buffer => {
  const record = Buffer.allocUnsafeSlow(recordSize(token.length, 0))
  writeFrame(record, OP_DELETE, token, 0)
  seal(record)
  return record
}

/**
 * Writes a put record for an in-memory entry into `target` at `offset` (compaction). The caller makes sure it fits.
 * Returns the offset after the record.
 *
 * @internal
 */
export const writePutInto = (
  target: Buffer,
  offset: number,
  token: Buffer,
  expiresAt: number,
  data: Uint8Array
): number => {
  const size = recordSize(token.length, data.length)
  const record = target.subarray(offset, offset + size)
  writeFrame(record, OP_PUT, token, expiresAt)
  record.set(data, RECORD_OVERHEAD + token.length)
  seal(record)
  return offset + size
}

const writeFrame = (record: Buffer, op: number, token: Buffer, expiresAt: number): void => {
  record.writeUInt32LE(record.length - 8, 0)
  record[8] = op
  record.writeUInt16LE(token.length, 9)
  token.copy(record, 11)
  record.writeDoubleLE(expiresAt, 11 + token.length)
}

const seal = (record: Buffer): void => {
  // the checksum covers the length field (bytes 0..3) and the body (bytes 8..end)
  record.writeUInt32LE(crc32(record, 8, record.length, crc32(record, 0, 4)), 4)
}

/**
 * Receives the records a scan accepts. A put's data is `buffer[dataStart, dataEnd)`, valid only during the call:
 * copy what you keep. (Offsets rather than a view: no allocation per record in the hot loop.)
 *
 * @internal
 */
export interface ScanSink {
  put(token: string, expiresAt: number, buffer: Buffer, dataStart: number, dataEnd: number): void
  delete(token: string): void
}

/** @internal */
export type ScanResult =
  /** Every byte up to `end` was consumed by whole records. */
  | { readonly _tag: "Done"; readonly offset: number }
  /** The record at `offset` needs `needed` bytes from `offset`, more than the buffer holds. */
  | { readonly _tag: "NeedMore"; readonly offset: number; readonly needed: number }
  /** The record at `offset` is invalid. */
  | { readonly _tag: "Corrupt"; readonly offset: number; readonly why: string }

/**
 * Scans whole records in `buffer[offset, end)`, handing each valid one to `sink`, and stops at the first record
 * that is incomplete or invalid. Synchronous and allocation-light: this is the hot loop of opening a store.
 *
 * @internal
 */
export const scanRecords = (buffer: Buffer, offset: number, end: number, sink: ScanSink): ScanResult => {
  while (offset < end) {
    if (end - offset < 8) return { _tag: "NeedMore", offset, needed: 8 }
    const bodyLength = buffer.readUInt32LE(offset)
    if (bodyLength < MIN_BODY || bodyLength > MAX_BODY) {
      return { _tag: "Corrupt", offset, why: `invalid record length ${bodyLength}` }
    }
    const size = 8 + bodyLength
    if (end - offset < size) return { _tag: "NeedMore", offset, needed: size }
    const body = offset + 8
    const expected = buffer.readUInt32LE(offset + 4)
    if (crc32(buffer, body, offset + size, crc32(buffer, offset, offset + 4)) !== expected) {
      return { _tag: "Corrupt", offset, why: "checksum mismatch" }
    }
    const op = buffer[body]!
    const tokenLength = buffer.readUInt16LE(body + 1)
    if (tokenLength > bodyLength - MIN_BODY) return { _tag: "Corrupt", offset, why: "token longer than record" }
    const tokenStart = body + 3
    const tokenEnd = tokenStart + tokenLength
    const token = buffer.toString("utf8", tokenStart, tokenEnd)
    if (op === OP_PUT) {
      const expiresAt = buffer.readDoubleLE(tokenEnd)
      sink.put(token, expiresAt, buffer, tokenEnd + 8, offset + size)
    } else if (op === OP_DELETE) {
      sink.delete(token)
    } else {
      return { _tag: "Corrupt", offset, why: `unknown operation ${op}` }
    }
    offset += size
  }
  return { _tag: "Done", offset }
}

/**
 * Copies the data of the records replayed at open. Small data (at most `maxShared` bytes) is packed into shared
 * slabs of `slabSize` bytes: one allocation per slab instead of one per session, which makes opening a store of a
 * million sessions several times faster. The price: a slab stays in memory while any session loaded into it does
 * (at most `slabSize` bytes per such session, until it is saved again, deleted or expires). Larger data gets its
 * own buffer.
 *
 * @internal
 */
export class SlabCopier {
  private slab = new Uint8Array(0)
  private used = 0
  private source: Buffer | undefined = undefined
  private sourceView: Uint8Array = new Uint8Array(0)

  constructor(readonly slabSize = 8192, readonly maxShared = 1024) {}

  /** A copy of `source[start, end)`: a plain `Uint8Array`, never a `Buffer` (whose `slice` would not copy). */
  copy(source: Buffer, start: number, end: number): Uint8Array {
    // a plain view of the source: its `subarray` is cheaper than a Buffer's, and `set` cheaper than `copy`
    if (source !== this.source) {
      this.source = source
      this.sourceView = new Uint8Array(source.buffer, source.byteOffset, source.length)
    }
    const bytes = this.sourceView.subarray(start, end)
    const length = end - start
    if (length > this.maxShared) {
      const own = new Uint8Array(length)
      own.set(bytes)
      return own
    }
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(this.slabSize)
      this.used = 0
    }
    this.slab.set(bytes, this.used)
    const view = this.slab.subarray(this.used, this.used + length)
    this.used += length
    return view
  }
}
