/**
 * Opening a FileStore log: what to make of its header, and the replay of its records, fed from the file in
 * buffers. Pure and synchronous: the shell (`fileStore/open.ts` in each line) does the reads.
 *
 * The replay is a small state machine that asks for bytes and consumes them:
 *
 * ```ts
 * const replay = new LogReplay(fileSize, sink, format)
 * // seek to format.headerSize, then:
 * for (let step = replay.next(); step._tag === "Read"; step = replay.next()) {
 *   replay.advance(readInto(step.into)) // any number of bytes, 0 at the end of the file
 * }
 * // step is { _tag: "End", good, why, damage }
 * ```
 *
 * Reads may return fewer bytes than asked (any split of the file replays the same records).
 *
 * When a record is incomplete or invalid, the replay searches the rest of the file for the next valid record:
 *
 * - None: the rest is a torn tail (a crash in the middle of a write). `good` is where it starts and `why` says why;
 *   the shell cuts it off with a warning, as a crash leaves it.
 * - One: the bytes in between are a damaged region (in `damage`), and replay goes on from that record. Everything
 *   replayed before the damage is forgotten (`sink.forget()`): a record in the damaged bytes may have deleted or
 *   renewed any earlier session, and what cannot be read is treated as gone. So the sessions that survive are exactly
 *   those with a valid record after the last damaged region, each as its last record says.
 *
 * The search accepts only records that carry the log's marker and keyed checksum (see `fileLog.ts`), so a record
 * framed inside a session value is never adopted, and it checksums only candidates that carry the marker. A format 1
 * log has no secret: a valid-looking record after damage in it cannot be trusted, so the whole rest of the file is
 * one damaged region, and everything before it is forgotten too.
 *
 * @internal
 */
import * as Log from "./fileLog.js"

/** The replay reads the log this many bytes at a time (a record larger than that gets a buffer of its own). @internal */
export const READ_CHUNK = 8 * 1024 * 1024

/** A damaged region of the log: skipped, followed by valid records. @internal */
export interface Damage {
  readonly offset: number
  readonly length: number
}

/** @internal */
export type ReplayStep =
  /** Read the next bytes of the file (from the current position, sequentially) into `into`, then `advance`. */
  | { readonly _tag: "Read"; readonly into: Buffer }
  /**
   * Done. Every valid record was handed to the sink; `[good, fileSize)` is the torn tail, and `why` says why
   * (`""`: none); `damage` lists the regions skipped before valid records.
   */
  | { readonly _tag: "End"; readonly good: number; readonly why: string; readonly damage: ReadonlyArray<Damage> }

/**
 * Replays the records of a log of `fileSize` bytes in `format`, starting right after the header, into `sink`.
 *
 * @internal
 */
export class LogReplay {
  private buffer: Buffer
  /** The file offset of `buffer[0]`. */
  private bufferStart: number
  /** Bytes of `buffer` that hold data read from the file. */
  private filled = 0
  /** The file offset the next read starts at. */
  private readPos: number
  private eof: boolean
  /** Where, in `buffer`, scanning or searching goes on. */
  private position = 0
  /** While searching: where the damage starts, and why. */
  private damageStart = -1
  private damageWhy = ""
  /** Format 1 only: the bytes checksummed while searching, bounded (a crafted tail could otherwise cost more). */
  private searchCost = 0
  private readonly damage: Array<Damage> = []

  constructor(
    private readonly fileSize: number,
    private readonly sink: Log.ScanSink,
    private readonly format: Log.Format,
    private readonly chunkSize = READ_CHUNK
  ) {
    this.bufferStart = format.headerSize
    this.readPos = format.headerSize
    this.buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(chunkSize, fileSize - format.headerSize)))
    this.eof = this.readPos >= fileSize
  }

  /** What to do next: read more, or stop. */
  next(): ReplayStep {
    for (;;) {
      if (!this.eof && this.filled < this.buffer.length) {
        const end = Math.min(this.buffer.length, this.filled + this.fileSize - this.readPos)
        return { _tag: "Read", into: this.buffer.subarray(this.filled, end) }
      }
      const step = this.damageStart < 0 ? this.scan() : this.search()
      if (step !== undefined) return step
    }
  }

  /** `n` bytes were read into the buffer `next` returned (0: the file ended early). */
  advance(n: number): void {
    this.filled += n
    this.readPos += n
    if (n === 0 || this.readPos >= this.fileSize) this.eof = true
  }

  /** Replays whole records; on a bad one, starts searching. `undefined`: go on (read more, or search). */
  private scan(): ReplayStep | undefined {
    const result = Log.scanRecords(this.buffer, this.position, this.filled, this.sink, this.format)
    if (result._tag === "Done") {
      if (this.eof) return this.end(this.bufferStart + result.offset, "")
      this.keepFrom(result.offset, 0)
      return undefined
    }
    const start = this.bufferStart + result.offset
    if (result._tag === "NeedMore" && !this.eof && start + result.needed <= this.fileSize) {
      this.keepFrom(result.offset, result.needed)
      return undefined
    }
    this.damageStart = start
    this.damageWhy = result._tag === "Corrupt" ? result.why : "incomplete record"
    this.position = result.offset + 1
    return undefined
  }

  /** Searches for the next valid record after the damage. `undefined`: go on. */
  private search(): ReplayStep | undefined {
    const format = this.format
    for (;;) {
      const at = format.prefix === 0
        ? this.position
        : this.buffer.subarray(0, this.filled).indexOf((format as Log.LogSecret).markerBytes, this.position)
      if (at < 0 || at >= this.filled) {
        if (this.eof) return this.end(this.damageStart, this.damageWhy)
        // a marker may straddle the end of what was read: keep its first bytes, and read on
        const from = Math.max(Math.min(this.position, this.filled), this.filled - Math.max(0, format.prefix - 1))
        this.keepFrom(from, this.filled - from + 1)
        return undefined
      }
      const verdict = Log.probeRecord(this.buffer, at, this.filled, format)
      const needed = Log.neededBy(verdict)
      if (needed > 0 && this.bufferStart + at + needed <= this.fileSize && !this.eof) {
        this.keepFrom(at, needed)
        return undefined
      }
      if (verdict > 0) return this.found(at)
      if (format.version === 1 && Log.isChecksumMismatch(verdict)) {
        this.searchCost += this.buffer.readUInt32LE(at) + 8
        // too costly to tell: the rest cannot be trusted either way
        if (this.searchCost > 16 * (this.fileSize - this.damageStart) + Log.MAX_DATA_BYTES) return this.found(at)
      }
      this.position = at + 1
    }
  }

  /** A valid record at `buffer[at]` after the damage. */
  private found(at: number): ReplayStep | undefined {
    const start = this.bufferStart + at
    this.sink.forget()
    if (this.format.version === 1) {
      // no secret: nothing after the damage can be trusted
      this.damage.push({ offset: this.damageStart, length: this.fileSize - this.damageStart })
      return this.end(this.fileSize, "")
    }
    this.damage.push({ offset: this.damageStart, length: start - this.damageStart })
    this.damageStart = -1
    this.damageWhy = ""
    this.position = at
    return undefined
  }

  private end(good: number, why: string): ReplayStep {
    return { _tag: "End", good, why, damage: this.damage }
  }

  /** Drops the buffer's bytes before `from` (reading on after the rest), with room for `needed` bytes from it. */
  private keepFrom(from: number, needed: number): void {
    if (needed > this.buffer.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(needed, this.chunkSize))
      this.buffer.copy(bigger, 0, from, this.filled)
      this.buffer = bigger
    } else if (from > 0) {
      this.buffer.copyWithin(0, from, this.filled)
    }
    this.filled -= from
    this.bufferStart += from
    this.position -= from
    if (this.position < 0) this.position = 0
  }
}

/**
 * Why a file whose header is not valid cannot be opened, or `undefined` when it can (valid, or blank: a log whose
 * creation was interrupted, to initialize).
 *
 * @internal
 */
export const refusal = (header: Log.HeaderCheck): string | undefined => {
  switch (header._tag) {
    case "Valid":
    case "Blank":
      return undefined
    case "Foreign":
      return "it is not a FileStore log"
    case "Damaged":
      return "its header is damaged"
    case "UnsupportedVersion":
      return `it was written by an unsupported format version (${header.version})`
  }
}

/** The warning logged when opening cut off a torn tail. @internal */
export const tornTailWarning = (fileSize: number, good: number, why: string): string =>
  `FileStore: dropped ${fileSize - good} bytes of torn log tail at offset ${good} (${why}); ` +
  `every record before it was kept`

/** The regions, as `offset +length` pairs. */
const regions = (damage: ReadonlyArray<Damage>): string =>
  damage.map((region) => `${region.length} bytes at offset ${region.offset}`).join(", ")

/**
 * The error logged when opening skipped damaged regions: where, how much, what became of the sessions.
 *
 * @internal
 */
export const damageReport = (report: {
  readonly path: string
  readonly format: 1 | 2
  readonly damage: ReadonlyArray<Damage>
  /** Record starts counted in the damaged bytes (format 2; `undefined` for format 1, which has no marker). */
  readonly records: number | undefined
  /** Sessions replayed before the damage and not saved again after it: treated as gone. */
  readonly forgotten: number
  readonly keptIn: string
}): string => {
  const bytes = report.damage.reduce((n, region) => n + region.length, 0)
  const what = report.format === 1
    ? `damage in a format 1 log (whose records cannot be told from forged ones): skipped the ${bytes} bytes ` +
      `from offset ${report.damage[0]?.offset} on`
    : `damage in the middle of the log: skipped ${bytes} bytes (about ${report.records} ` +
      `record${report.records === 1 ? "" : "s"}) in ${report.damage.length} region${
        report.damage.length === 1 ? "" : "s"
      } (${regions(report.damage)}); the valid records after the damage were kept`
  return `FileStore: ${what}. ${report.forgotten} session${report.forgotten === 1 ? "" : "s"} last saved before ` +
    `the damage ${report.forgotten === 1 ? "was" : "were"} dropped: a delete or renew of theirs may be in the ` +
    `damaged bytes. The damaged bytes are kept in ${report.keptIn}; ${report.path} was rewritten from memory`
}

/** The error a store refusing damaged logs (`onCorruption: "refuse"`) fails with. @internal */
export const damageRefusal = (path: string, damage: ReadonlyArray<Damage>): string =>
  `refusing to open ${path}: it is damaged (${regions(damage)}) and onCorruption is "refuse"; ` +
  `the file was left as it is`

/** The header written before each region in the file damaged bytes are kept in. @internal */
export const asideHeader = (region: Damage): Buffer =>
  Buffer.from(`EFSES-DAMAGED offset=${region.offset} length=${region.length}\n`, "latin1")

/** How many times `marker` occurs in `bytes` (an estimate of the record starts in damaged bytes). @internal */
export const countMarkers = (bytes: Buffer, marker: Buffer): number => {
  let n = 0
  for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) n++
  return n
}
