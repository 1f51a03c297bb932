/**
 * Opening a FileStore log: what to make of its header, and the replay of its records, fed from the file in
 * buffers. Pure and synchronous: the shell (`fileStore/open.ts` in each line) does the reads.
 *
 * The replay is a small state machine that asks for bytes and consumes them:
 *
 * ```ts
 * const replay = new LogReplay(fileSize, sink)
 * // seek to HEADER_SIZE, then:
 * for (let step = replay.next(); step._tag === "Read"; step = replay.next()) {
 *   replay.advance(readInto(step.into)) // any number of bytes, 0 at the end of the file
 * }
 * // step is { _tag: "End", good, why }: the records before `good` were handed to `sink`
 * ```
 *
 * Reads may return fewer bytes than asked (any split of the file replays the same records). A record cut short by
 * the end of the file, or one that is invalid, ends the replay: `good` is where it starts, and everything from
 * there on is the torn or corrupt tail.
 *
 * @internal
 */
import * as Log from "./fileLog.js"

/** The replay reads the log this many bytes at a time (a record larger than that gets a buffer of its own). @internal */
export const READ_CHUNK = 8 * 1024 * 1024

/** @internal */
export type ReplayStep =
  /** Read the next bytes of the file (from the current position, sequentially) into `into`, then `advance`. */
  | { readonly _tag: "Read"; readonly into: Buffer }
  /** Done: every record in `[HEADER_SIZE, good)` was handed to the sink; `why` says why the rest is not ("": none). */
  | { readonly _tag: "End"; readonly good: number; readonly why: string }

/**
 * Replays the records of a log of `fileSize` bytes, starting right after the header, into `sink`.
 *
 * @internal
 */
export class LogReplay {
  private buffer: Buffer
  /** The file offset of `buffer[0]`. */
  private bufferStart = Log.HEADER_SIZE
  /** Bytes of `buffer` that hold data read from the file. */
  private filled = 0
  /** The file offset the next read starts at. */
  private readPos = Log.HEADER_SIZE
  private eof: boolean

  constructor(
    private readonly fileSize: number,
    private readonly sink: Log.ScanSink,
    private readonly chunkSize = READ_CHUNK
  ) {
    this.buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(chunkSize, fileSize - Log.HEADER_SIZE)))
    this.eof = this.readPos >= fileSize
  }

  /** What to do next: read more, or stop. */
  next(): ReplayStep {
    for (;;) {
      if (!this.eof && this.filled < this.buffer.length) {
        const end = Math.min(this.buffer.length, this.filled + this.fileSize - this.readPos)
        return { _tag: "Read", into: this.buffer.subarray(this.filled, end) }
      }
      const result = Log.scanRecords(this.buffer, 0, this.filled, this.sink)
      if (result._tag === "Corrupt") return { _tag: "End", good: this.bufferStart + result.offset, why: result.why }
      if (result._tag === "Done") {
        if (this.eof) return { _tag: "End", good: this.bufferStart + result.offset, why: "" }
        this.bufferStart += this.filled
        this.filled = 0
        continue
      }
      const recordStart = this.bufferStart + result.offset
      if (this.eof || recordStart + result.needed > this.fileSize) {
        return { _tag: "End", good: recordStart, why: "incomplete record" }
      }
      // keep the start of the record, and read the rest of it after
      if (result.needed > this.buffer.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(result.needed, this.chunkSize))
        this.buffer.copy(bigger, 0, result.offset, this.filled)
        this.buffer = bigger
      } else {
        this.buffer.copyWithin(0, result.offset, this.filled)
      }
      this.filled -= result.offset
      this.bufferStart = recordStart
    }
  }

  /** `n` bytes were read into the buffer `next` returned (0: the file ended early). */
  advance(n: number): void {
    this.filled += n
    this.readPos += n
    if (n === 0 || this.readPos >= this.fileSize) this.eof = true
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

/** The warning logged when opening cut off a torn or corrupt tail. @internal */
export const tornTailWarning = (fileSize: number, good: number, why: string): string =>
  `FileStore: dropped ${fileSize - good} bytes of torn or corrupt log tail at offset ${good} (${why}); ` +
  `every record before it was kept`
