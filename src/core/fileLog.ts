/**
 * The on-disk format of FileStore's append-only log: a header, then framed records. Pure, synchronous functions
 * over buffers; every I/O happens in the shells through the platform `FileSystem`.
 *
 * Format 2 (written since issue 16). Header (32 bytes), all integers little-endian:
 *
 * ```
 * offset size
 *      0    8  magic "EFSESLOG"
 *      8    2  format version (u16), 2
 *     10    2  flags (u16), 0
 *     12    4  record marker: random, per log; the first 4 bytes of every record
 *     16   12  checksum key: random, per log; mixed into every record's checksum
 *     28    4  CRC-32 of bytes 0..27
 * ```
 *
 * Record (23 bytes + token + data):
 *
 * ```
 * offset        size
 *      0           4  the log's record marker
 *      4           4  body length (u32): everything after the checksum, 11 + token length + data length
 *      8           4  CRC-32 of the checksum key, the body length field and the body (u32)
 *     12           1  operation: 1 = put, 2 = delete
 *     13           2  token length in bytes (u16)
 *     15           t  token, UTF-8
 *   15+t           8  expiry, epoch milliseconds (f64; 0 for a delete)
 *   23+t           d  data (empty for a delete)
 * ```
 *
 * Why the per-log secret: after damage in the middle of a log, opening searches for the next record, and the bytes
 * it searches include session data, which users choose. A user who stores a value that frames a valid-looking
 * record for another token must not get that record adopted (a login as anyone). The marker and the key are 16
 * random bytes that never leave the log file: a record framed inside a value verifies only if its author guessed a
 * 32-bit marker and a 32-bit keyed checksum (one chance in 2^64 per attempt), and the search only checksums
 * candidates that carry the marker, so scanning any garbage costs one pass over it. Records found by following the
 * chain of lengths from the header are at positions a writer started them; only the search needs the secret.
 *
 * Format 1 (0.1.0): a 16-byte header (magic, version 1, flags, CRC-32 of bytes 0..11) and records without the
 * marker, whose CRC-32 is not keyed (19 bytes + token + data). It is read, never written: a format 1 log is rewritten
 * in format 2 when it is opened. Without a secret, records after damage in a format 1 log cannot be told from forged
 * ones, so none of them is adopted.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import { crc32 } from "./crc32.js"

/** @internal */
export const MAGIC = Buffer.from("EFSESLOG", "latin1")

/** The format written. @internal */
export const VERSION = 2

/** The size of a format 2 header. @internal */
export const HEADER_SIZE = 32

/** Bytes a format 2 record takes besides its token and data. @internal */
export const RECORD_OVERHEAD = 23

/** The size of a format 1 header. @internal */
export const V1_HEADER_SIZE = 16

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

/** How a log's records are framed: what replay needs to know about its format. @internal */
export interface Format {
  readonly version: 1 | 2
  readonly headerSize: number
  /** Bytes before the length field: the marker (4) in format 2, none in format 1. */
  readonly prefix: number
  /** The record marker (format 2). */
  readonly marker: number
  /** The CRC-32 state after the checksum key: where each record's checksum starts (0 in format 1). */
  readonly seed: number
}

/** Format 1: read only. @internal */
export const FORMAT_1: Format = { version: 1, headerSize: V1_HEADER_SIZE, prefix: 0, marker: 0, seed: 0 }

/** A format 2 log's secret: its record marker and checksum key (16 random bytes, in the header). @internal */
export class LogSecret implements Format {
  readonly version = 2
  readonly headerSize = HEADER_SIZE
  readonly prefix = 4
  readonly marker: number
  readonly seed: number
  /** The marker's bytes, to search for. */
  readonly markerBytes: Buffer

  private constructor(readonly bytes: Buffer) {
    this.markerBytes = bytes.subarray(0, 4)
    this.marker = bytes.readUInt32LE(0)
    this.seed = crc32(bytes, 4, 16)
  }

  /** A fresh secret, for a new log. */
  static random(): LogSecret {
    for (;;) {
      const bytes = Crypto.randomBytes(16)
      const marker = bytes.readUInt32LE(0)
      // a marker of zeros or ones would match the most common garbage
      if (marker !== 0 && marker !== 0xffffffff) return new LogSecret(bytes)
    }
  }

  /** The secret in a format 2 header. */
  static fromHeader(header: Uint8Array): LogSecret {
    return new LogSecret(Buffer.from(header.subarray(12, 28)))
  }
}

/** The header of a format 2 log with `secret`. @internal */
export const encodeHeader = (secret: LogSecret): Buffer => {
  const header = Buffer.alloc(HEADER_SIZE)
  MAGIC.copy(header, 0)
  header.writeUInt16LE(VERSION, 8)
  header.writeUInt16LE(0, 10)
  secret.bytes.copy(header, 12)
  header.writeUInt32LE(crc32(header, 0, 28), 28)
  return header
}

const V1_HEADER = (() => {
  const header = Buffer.alloc(V1_HEADER_SIZE)
  MAGIC.copy(header, 0)
  header.writeUInt16LE(1, 8)
  header.writeUInt32LE(crc32(header, 0, 12), 12)
  return header
})()

/** @internal */
export type HeaderCheck =
  | { readonly _tag: "Valid"; readonly format: Format }
  /** Empty, or a prefix of a header: a log whose creation was interrupted. Safe to initialize. */
  | { readonly _tag: "Blank" }
  | { readonly _tag: "Foreign" }
  /** The magic matches but the header's checksum does not. */
  | { readonly _tag: "Damaged" }
  | { readonly _tag: "UnsupportedVersion"; readonly version: number }

/** Classifies the first `length` bytes of a file (at most `HEADER_SIZE` are looked at). @internal */
export const checkHeader = (bytes: Uint8Array, length: number): HeaderCheck => {
  for (let i = 0; i < Math.min(length, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) return { _tag: "Foreign" }
  }
  if (length < 10) return { _tag: "Blank" }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(length, HEADER_SIZE))
  const version = view.readUInt16LE(8)
  if (version === 1) {
    if (length < V1_HEADER_SIZE) {
      return view.equals(V1_HEADER.subarray(0, length))
        ? { _tag: "Blank" }
        : { _tag: "Foreign" }
    }
    return view.readUInt32LE(12) === crc32(view, 0, 12) ? { _tag: "Valid", format: FORMAT_1 } : { _tag: "Damaged" }
  }
  if (version === VERSION) {
    // the rest of a header prefix is flags and random bytes: anything
    if (length < HEADER_SIZE) return { _tag: "Blank" }
    return view.readUInt32LE(28) === crc32(view, 0, 28)
      ? { _tag: "Valid", format: LogSecret.fromHeader(view) }
      : { _tag: "Damaged" }
  }
  return length < 12 ? { _tag: "Foreign" } : { _tag: "UnsupportedVersion", version }
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
  secret: LogSecret,
  token: Buffer,
  expiresAt: number,
  data: Uint8Array
): { readonly record: Buffer; readonly data: Uint8Array } => {
  const size = recordSize(token.length, data.length)
  const record = Buffer.allocUnsafeSlow(size)
  const dataOffset = RECORD_OVERHEAD + token.length
  writeFrame(secret, record, OP_PUT, token, expiresAt)
  record.set(data, dataOffset)
  seal(secret, record)
  return { record, data: new Uint8Array(record.buffer, record.byteOffset + dataOffset, data.length) }
}

/** Encodes a delete record. @internal */
export const encodeDelete = (secret: LogSecret, token: Buffer): Buffer => {
  const record = Buffer.allocUnsafeSlow(recordSize(token.length, 0))
  writeFrame(secret, record, OP_DELETE, token, 0)
  seal(secret, record)
  return record
}

/**
 * Writes a put record for an in-memory entry into `target` at `offset` (compaction). The caller makes sure it fits.
 * Returns the offset after the record.
 *
 * @internal
 */
export const writePutInto = (
  secret: LogSecret,
  target: Buffer,
  offset: number,
  token: Buffer,
  expiresAt: number,
  data: Uint8Array
): number => {
  const size = recordSize(token.length, data.length)
  const record = target.subarray(offset, offset + size)
  writeFrame(secret, record, OP_PUT, token, expiresAt)
  record.set(data, RECORD_OVERHEAD + token.length)
  seal(secret, record)
  return offset + size
}

const writeFrame = (secret: LogSecret, record: Buffer, op: number, token: Buffer, expiresAt: number): void => {
  secret.markerBytes.copy(record, 0)
  record.writeUInt32LE(record.length - 12, 4)
  record[12] = op
  record.writeUInt16LE(token.length, 13)
  token.copy(record, 15)
  record.writeDoubleLE(expiresAt, 15 + token.length)
}

const seal = (secret: LogSecret, record: Buffer): void => {
  // keyed: the checksum starts from the key's CRC state, then covers the length field (4..7) and the body (12..end)
  record.writeUInt32LE(crc32(record, 12, record.length, crc32(record, 4, 8, secret.seed)), 8)
}

// ---- reading ----

/** `probeRecord`'s verdicts besides a size. */
const NO_MARKER = -1
const BAD_LENGTH = -2
const BAD_OPERATION = -3
const BAD_TOKEN = -4
const BAD_CHECKSUM = -5
/** A verdict at or below `NEED` means: `NEED - verdict` bytes from the offset are needed to decide. */
const NEED = -16

/**
 * Whether a valid record of `format` starts at `buffer[offset]` (reading no further than `end`): its size, or a
 * negative verdict. The cheap fields (marker, length, operation, token length) are checked before the checksum, and
 * the whole record is asked for only once they pass.
 *
 * @internal
 */
export const probeRecord = (buffer: Buffer, offset: number, end: number, format: Format): number => {
  const p = format.prefix
  if (end - offset < p + 11) return NEED - (p + 11)
  if (p !== 0 && buffer.readUInt32LE(offset) !== format.marker) return NO_MARKER
  const bodyLength = buffer.readUInt32LE(offset + p)
  if (bodyLength < MIN_BODY || bodyLength > MAX_BODY) return BAD_LENGTH
  const body = offset + p + 8
  const op = buffer[body]!
  const tokenLength = buffer.readUInt16LE(body + 1)
  if (op !== OP_PUT && op !== OP_DELETE) return BAD_OPERATION
  if (tokenLength > bodyLength - MIN_BODY || (op === OP_DELETE && bodyLength !== MIN_BODY + tokenLength)) {
    return BAD_TOKEN
  }
  const size = p + 8 + bodyLength
  if (end - offset < size) return NEED - size
  const crc = crc32(buffer, body, offset + size, crc32(buffer, offset + p, offset + p + 4, format.seed))
  return crc === buffer.readUInt32LE(offset + p + 4) ? size : BAD_CHECKSUM
}

/** Whether `probeRecord`'s verdict asks for more bytes, and how many from the offset. @internal */
export const neededBy = (verdict: number): number => verdict <= NEED ? NEED - verdict : 0

/** Why a record is invalid, from `probeRecord`'s verdict. @internal */
const whyInvalid = (verdict: number, buffer: Buffer, offset: number, format: Format): string => {
  switch (verdict) {
    case NO_MARKER:
      return "no record marker"
    case BAD_LENGTH:
      return `invalid record length ${buffer.readUInt32LE(offset + format.prefix)}`
    case BAD_OPERATION:
      return `unknown operation ${buffer[offset + format.prefix + 8]}`
    case BAD_TOKEN:
      return "token longer than record"
    default:
      return "checksum mismatch"
  }
}

/** Whether `probeRecord`'s verdict is a checksum mismatch (the candidate's bytes were checksummed). @internal */
export const isChecksumMismatch = (verdict: number): boolean => verdict === BAD_CHECKSUM

/**
 * Receives the records a scan accepts. A put's data is `buffer[dataStart, dataEnd)`, valid only during the call:
 * copy what you keep. (Offsets rather than a view: no allocation per record in the hot loop.)
 *
 * @internal
 */
export interface ScanSink {
  put(token: string, expiresAt: number, buffer: Buffer, dataStart: number, dataEnd: number): void
  delete(token: string): void
  /**
   * Damage was found, followed by valid records: everything handed so far may have been undone by records in the
   * damaged bytes (a delete, a renew). Forget it.
   */
  forget(): void
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
export const scanRecords = (
  buffer: Buffer,
  offset: number,
  end: number,
  sink: ScanSink,
  format: Format
): ScanResult => {
  while (offset < end) {
    const verdict = probeRecord(buffer, offset, end, format)
    if (verdict <= NEED) return { _tag: "NeedMore", offset, needed: NEED - verdict }
    if (verdict < 0) return { _tag: "Corrupt", offset, why: whyInvalid(verdict, buffer, offset, format) }
    deliver(buffer, offset, verdict, format, sink)
    offset += verdict
  }
  return { _tag: "Done", offset }
}

/** Hands the valid record of `size` bytes at `offset` to `sink`. */
const deliver = (buffer: Buffer, offset: number, size: number, format: Format, sink: ScanSink): void => {
  const body = offset + format.prefix + 8
  const tokenStart = body + 3
  const tokenEnd = tokenStart + buffer.readUInt16LE(body + 1)
  const token = buffer.toString("utf8", tokenStart, tokenEnd)
  if (buffer[body] === OP_PUT) sink.put(token, buffer.readDoubleLE(tokenEnd), buffer, tokenEnd + 8, offset + size)
  else sink.delete(token)
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
