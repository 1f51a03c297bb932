/**
 * Whether the log the store has open is still the log it wrote. Someone may truncate it under the store (logrotate's
 * `copytruncate`, `> sessions.log`), or move it away and leave another file (logrotate's `create`) or none at its
 * path. Appending at the old end offset of a truncated file would leave a hole of zeros where the header was (the
 * next start refuses the file), and appending to a file moved away writes where no start will look.
 *
 * So before each write batch, under the writer's lock, the shell compares the open file's size with what the store
 * has written (one `fstat`), and at most once every `IDENTITY_CHECK_MILLIS` of wall-clock time also compares the
 * device and inode at the log's path with the open file's, and rereads the header. On a mismatch it logs an error
 * and rewrites the log from memory (which holds every live session) before writing the batch.
 *
 * What remains: a truncation in the instant between the check and the write leaves a hole of zeros before the
 * batch; the next batch's size check cannot see it (the size is what the store expects), the next identity check
 * (within a second, at the next batch) sees the header and repairs it. A file moved away is written to until the
 * next identity check. In both windows every acknowledged session is in memory and is written back by the repair; a
 * crash of the process within the window loses what only the moved or damaged file held.
 *
 * @internal
 */

/** How often, at most, the file at the log's path and the header are checked (wall clock). @internal */
export const IDENTITY_CHECK_MILLIS = 1000

/** Whether the identity check is due, last done at `checkedAt` (epoch milliseconds). @internal */
export const identityCheckDue = (checkedAt: number, now: number): boolean =>
  now - checkedAt >= IDENTITY_CHECK_MILLIS || now < checkedAt

/** What is wrong with the size of the open log, or `undefined`. @internal */
export const sizeMismatch = (size: number, end: number): string | undefined =>
  size === end
    ? undefined
    : size < end
    ? `it is ${size} bytes long, but the store wrote ${end}: it was truncated under the store (logrotate ` +
      `copytruncate?)`
    : `it is ${size} bytes long, but the store wrote ${end}: something else wrote to it`

/**
 * What is wrong with the file at the log's path, given the open file's identity and the path's (`undefined`: no file
 * there), each as `device:inode`; or `undefined`.
 *
 * @internal
 */
export const identityMismatch = (open: string, atPath: string | undefined): string | undefined =>
  atPath === undefined
    ? "it was removed or moved away under the store"
    : atPath !== open
    ? "the file at its path was replaced under the store (logrotate create?)"
    : undefined

/** What is wrong with the header read back from the open log, or `undefined`. @internal */
export const headerMismatch = (read: Uint8Array, written: Uint8Array): string | undefined =>
  Buffer.from(read).equals(Buffer.from(written)) ? undefined : "its header was overwritten under the store"

/** The error logged before the log is rewritten from memory. @internal */
export const repairMessage = (path: string, problem: string): string =>
  `FileStore: ${path} is not the log the store wrote: ${problem}. Rewriting it from memory (every live session is ` +
  `there) before the next write`
