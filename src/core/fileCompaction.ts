/**
 * FileStore's compaction, the part that needs no I/O: when to compact, how far the log may grow while a compaction
 * runs (the backpressure bound), and the bytes of the compacted log.
 *
 * A compaction writes the live entries of a snapshot to a temporary file, copies the records appended to the log
 * meanwhile (first without blocking the writer, then, for the last `TAIL_UNLOCKED` bytes or less, with the writer
 * held), and renames the file over the log.
 *
 * @internal
 */
import type { FileIndex } from "./fileIndex.js"
import * as Log from "./fileLog.js"
import type { IndexEntry } from "./memoryIndex.js"

/** While a compaction copies what was appended meanwhile, the writer is held only for the last bytes below this. @internal */
export const TAIL_UNLOCKED = 1024 * 1024

/** The default `compaction.minSize`: 1 MiB. @internal */
export const DEFAULT_MIN_SIZE = 1024 * 1024

/** Automatic compaction: off, or on above `minSize`. @internal */
export type CompactionPolicy = false | { readonly minSize: number }

/**
 * Whether to start an automatic compaction: the log is at least twice what it would be compacted, at least
 * `minSize`, and (after a failed compaction) has grown past `retryAt`.
 *
 * @internal
 */
export const shouldCompact = (policy: CompactionPolicy, logSize: number, liveSize: number, retryAt: number): boolean =>
  policy !== false && logSize >= policy.minSize && logSize >= 2 * liveSize && logSize >= retryAt

/**
 * The size up to which the log may grow while a compaction started at `logSize` runs: by as much as the live data
 * (at least `TAIL_UNLOCKED`). Beyond it the writer waits for the compaction, so that a writer faster than the
 * compaction cannot grow the log without bound.
 *
 * @internal
 */
export const growLimit = (logSize: number, liveSize: number): number => logSize + Math.max(TAIL_UNLOCKED, liveSize)

/** After a compaction failed at `logSize`, the size below which no automatic one is tried again. @internal */
export const retryAfterFailure = (logSize: number): number => Math.ceil(logSize * 1.5)

/** Whether what was appended since `copied` is still too much to copy with the writer held. @internal */
export const copyWithoutLock = (logSize: number, copied: number): boolean => logSize - copied > TAIL_UNLOCKED

/**
 * The compacted log (or a log rewritten from memory): the header with `secret`, then one put record per entry live
 * at `now`, in buffers of about `chunkSize`
 * bytes. Each entry is encoded as it is when its turn comes (a later save changed it in place: harmless, its record
 * is in the tail copied after). Entries found expired are removed from `index`.
 *
 * Each buffer yielded is reused for the next one: write it out before asking for the next.
 *
 * @internal
 */
export function* snapshotChunks(
  entries: Iterable<IndexEntry>,
  now: number,
  index: FileIndex,
  chunkSize: number,
  secret: Log.LogSecret
): Generator<Buffer, void, void> {
  let chunk = Buffer.allocUnsafeSlow(Math.max(chunkSize, Log.HEADER_SIZE))
  Log.encodeHeader(secret).copy(chunk, 0)
  let used = Log.HEADER_SIZE
  for (const entry of entries) {
    if (entry.expiresAt <= now) {
      index.removeIfCurrent(entry)
      continue
    }
    const token = Buffer.from(entry.token, "utf8")
    const data = entry.data
    const size = Log.recordSize(token.length, data.length)
    if (used + size > chunk.length) {
      yield chunk.subarray(0, used)
      used = 0
      if (size > chunk.length) chunk = Buffer.allocUnsafeSlow(size)
    }
    used = Log.writePutInto(secret, chunk, used, token, entry.expiresAt, data)
  }
  yield chunk.subarray(0, used)
}
