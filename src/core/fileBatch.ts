/**
 * FileStore's group commit, the part that needs no I/O: the writes waiting for the writer, the plan of one batch
 * (which records to append, which deletes need none), and how the records of a batch are grouped into writes.
 *
 * One writer fiber appends every record. While it writes (and, with `sync: "always"`, fsyncs) one batch, new
 * writes queue up; the next batch takes all of them at once, so concurrent saves share one write and one fsync.
 *
 * @internal
 */
import * as Log from "./fileLog.js"

/** The records of a batch are handed to the file system in writes of at most this many bytes. @internal */
export const WRITE_CHUNK = 4 * 1024 * 1024

/**
 * When a conditional write (`saveIf`, `touch`) applies: only when no entry is live at `now` (`expected` is
 * `undefined`), or only when the entry live at `now` holds the version `expected`.
 *
 * @internal
 */
export interface Condition {
  readonly expected: number | undefined
  /** The caller's clock when it asked: what "live" means for the condition. */
  readonly now: number
  /** A touch: the entry keeps its version (its put carries the bytes it holds, with the new expiry). */
  readonly keepVersion: boolean
}

/** The outcome of a conditional write whose condition did not hold: nothing written. @internal */
export const CONFLICT = -1

/**
 * A save or delete waiting for the writer. `R` is how the shell resumes its caller (set when it is queued, cleared
 * once the outcome is delivered).
 *
 * @internal
 */
export interface PendingWrite<R = unknown> {
  readonly op: typeof Log.OP_PUT | typeof Log.OP_DELETE
  readonly token: string
  /** The store operation that asked for it, named in its errors. */
  readonly method: string
  /** A put's record; a delete's is built by the planner, only if the token exists. */
  record: Buffer | undefined
  /** A put's data, a view into its record: what the index keeps. */
  readonly data: Uint8Array | undefined
  readonly expiresAt: number
  /** Unconditional (`save`, `delete`) when `undefined`. */
  readonly condition: Condition | undefined
  /**
   * Set by the planner: the version the write gives the entry (a put), or takes from the counter (a conditional
   * delete), or `CONFLICT`. `0` until planned.
   */
  version: number
  /** Interrupted while queued: never written. */
  cancelled: boolean
  resume: R | undefined
}

/** A put of `data` under `token` until `expiresAt`, its record encoded now (off the writer's path). @internal */
export const putWrite = <R>(
  secret: Log.LogSecret,
  token: string,
  tokenBytes: Buffer,
  data: Uint8Array,
  expiresAt: number,
  method: string,
  condition?: Condition
): PendingWrite<R> => {
  const encoded = Log.encodePut(secret, tokenBytes, expiresAt, data)
  return {
    op: Log.OP_PUT,
    token,
    method,
    record: encoded.record,
    data: encoded.data,
    expiresAt,
    condition,
    version: 0,
    cancelled: false,
    resume: undefined
  }
}

/** A delete of `token`. @internal */
export const deleteWrite = <R>(token: string, method: string, condition?: Condition): PendingWrite<R> => ({
  op: Log.OP_DELETE,
  token,
  method,
  record: undefined,
  data: undefined,
  expiresAt: 0,
  condition,
  version: 0,
  cancelled: false,
  resume: undefined
})

const surrogate = /[\uD800-\uDFFF]/

/** The token's UTF-8 bytes, or why it cannot be stored. @internal */
export const encodeToken = (token: string): Buffer | string => {
  const bytes = Buffer.from(token, "utf8")
  if (bytes.length > Log.MAX_TOKEN_BYTES) {
    return `the token is ${bytes.length} bytes long in UTF-8, above the limit of ${Log.MAX_TOKEN_BYTES}`
  }
  // a lone surrogate would not survive the round trip through UTF-8 (it would come back as U+FFFD)
  if (surrogate.test(token) && bytes.toString("utf8") !== token) return "the token is not well-formed UTF-16"
  return bytes
}

/** Why `data` is too large to store, or `undefined`. @internal */
export const dataTooLarge = (data: Uint8Array): string | undefined =>
  data.length > Log.MAX_DATA_BYTES
    ? `the data is ${data.length} bytes long, above the limit of ${Log.MAX_DATA_BYTES}`
    : undefined

/** What the planner needs to know of the entry held for a token (expired or not). @internal */
export interface HeldEntry {
  readonly expiresAt: number
  readonly version: number
}

/** @internal */
export interface BatchPlan<W> {
  /** The writes to append, in order; each has its `record`. */
  readonly included: Array<W>
  readonly records: Array<Buffer>
  /** The bytes of `records`. */
  readonly bytes: number
  /**
   * Done with nothing to write: deletes of tokens that exist neither in the index nor earlier in the batch, and
   * conditional writes that conflict (`version` is `CONFLICT`).
   */
  readonly noops: Array<W>
  /**
   * Left for the next batch, in order: a conditional write to a token written earlier in this batch (its
   * condition is decided once that write is in the index), and every later write to such a token.
   */
  readonly deferred: Array<W>
}

/**
 * Plans one batch from the writes taken off the queue, in order. Cancelled writes are left out; a delete gets its
 * record only if its token exists (in the index, per `held`, or written earlier in the batch), so that deleting
 * unknown tokens cannot grow the log.
 *
 * A conditional write is decided here against the index as it is (`held`), which holds every write acknowledged
 * so far: the batch is applied to the index when it is written, before the next batch is planned, and nothing else
 * writes to the index but the removal of expired entries. So the decision and the index update of a write happen
 * with no other write to its token in between. A conditional write to a token that an earlier write of this batch
 * changes is deferred to the next batch rather than decided against a write that is not in the index yet (and
 * might fail): its callers would otherwise see a conflict while `load` still shows what they expected. Puts (and
 * conditional deletes) take their version from `nextVersion`, in order; a touch keeps the entry's.
 *
 * @internal
 */
export const planBatch = <W extends PendingWrite>(
  writes: ReadonlyArray<W>,
  held: (token: string) => HeldEntry | undefined,
  secret: Log.LogSecret,
  nextVersion: () => number
): BatchPlan<W> => {
  const included: Array<W> = []
  const records: Array<Buffer> = []
  const noops: Array<W> = []
  const deferred: Array<W> = []
  let bytes = 0
  let writtenHere: Set<string> | undefined
  let deferredHere: Set<string> | undefined
  for (const write of writes) {
    if (write.cancelled) continue
    const token = write.token
    if (deferredHere?.has(token) === true) {
      deferred.push(write)
      continue
    }
    const condition = write.condition
    if (condition !== undefined) {
      if (writtenHere?.has(token) === true) {
        ;(deferredHere ??= new Set()).add(token)
        deferred.push(write)
        continue
      }
      const entry = held(token)
      const live = entry !== undefined && entry.expiresAt > condition.now ? entry : undefined
      const holds = condition.expected === undefined
        ? live === undefined
        : live !== undefined && live.version === condition.expected
      if (!holds) {
        write.version = CONFLICT
        noops.push(write)
        continue
      }
      write.version = condition.keepVersion && live !== undefined ? live.version : nextVersion()
      if (write.op === Log.OP_DELETE) {
        if (entry === undefined) {
          noops.push(write)
          continue
        }
        write.record = Log.encodeDelete(secret, Buffer.from(token, "utf8"))
      }
    } else if (write.op === Log.OP_PUT) {
      write.version = nextVersion()
    } else if (writtenHere?.has(token) !== true && held(token) === undefined) {
      noops.push(write)
      continue
    } else {
      write.record = Log.encodeDelete(secret, Buffer.from(token, "utf8"))
    }
    ;(writtenHere ??= new Set()).add(token)
    included.push(write)
    records.push(write.record!)
    bytes += write.record!.length
  }
  return { included, records, bytes, noops, deferred }
}

/**
 * Groups records into the buffers to write: consecutive records are concatenated up to `maxChunk` bytes (a record
 * larger than that is written on its own), so a batch of thousands of small records is a few writes.
 *
 * @internal
 */
export const groupRecords = (records: ReadonlyArray<Buffer>, maxChunk = WRITE_CHUNK): Array<Buffer> => {
  const chunks: Array<Buffer> = []
  let group: Array<Buffer> = []
  let groupBytes = 0
  const flush = () => {
    if (group.length === 1) chunks.push(group[0]!)
    else if (group.length > 1) chunks.push(Buffer.concat(group, groupBytes))
    group = []
    groupBytes = 0
  }
  for (const record of records) {
    if (groupBytes > 0 && groupBytes + record.length > maxChunk) flush()
    group.push(record)
    groupBytes += record.length
  }
  flush()
  return chunks
}
