/**
 * An embedded `SessionStore` that survives restarts and crashes: one append-only log file plus an in-memory
 * index. The engine for a single server that should not log its users out when it restarts, with no database to
 * run.
 *
 * - Reads never touch the disk: the index is loaded when the store opens, and `find` is a map lookup.
 * - Each `save` and `delete` appends one checksummed record to the log. Concurrent writes are batched into one
 *   write (and, with `sync: "always"`, share one fsync: group commit).
 * - Opening replays the log. A torn or corrupt tail (a crash in the middle of a write) is cut off, with a warning
 *   that says how many bytes were dropped; every record before it is kept.
 * - When the log is at least twice the size of the live sessions (and above `compaction.minSize`), it is
 *   rewritten in the background with only the live sessions, then atomically renamed over the old one. Saves and
 *   deletes keep working meanwhile, and none is lost.
 * - One process at a time: a lock file, `${path}.lock`, makes a second store on the same path fail with a `Locked`
 *   error; a lock left by a process that died is taken over. (A lock written on another host, such as a previous
 *   container with another host name, is taken over once its owner has stopped refreshing it for 60 seconds.)
 * - Every session is held in memory: size the process for the live data, plus the log's buffers.
 *
 * All I/O goes through the `FileSystem` service of `@effect/platform`, so the store runs wherever a platform
 * file system layer exists (`@effect/platform-node`'s `NodeFileSystem.layer`, Bun's, ...).
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import * as FileLock from "./internal/fileLock.js"
import * as Log from "./core/fileLog.js"
import { type IndexEntry, MemoryIndex } from "./core/memoryIndex.js"
import { sweepExpired } from "./internal/sweep.js"
import * as Options from "./internal/options.js"
import * as Store from "./Store.js"

/**
 * When the log is flushed to stable storage (fsync), and so what a power failure or an operating system crash can
 * lose. A crash of the process alone (a bug, `kill -9`, an out-of-memory kill) loses nothing acknowledged in any
 * mode: the operating system still writes out what the process handed it.
 *
 * | mode         | a `save` / `delete` succeeds when...       | lost on power failure or OS crash                 |
 * | ------------ | ------------------------------------------ | ------------------------------------------------- |
 * | `"always"`   | its record is fsynced (group commit)       | nothing that was acknowledged                     |
 * | `"everysec"` | its record is written to the OS            | about the last second of acknowledged writes      |
 * | `"never"`    | its record is written to the OS            | what the OS had not written back (Linux: ~30 s)   |
 *
 * `"always"` costs one fsync per batch of concurrent writes (a few milliseconds on an SSD, more on a network
 * disk); writes that arrive while an fsync is in flight share the next one, so throughput grows with concurrency.
 * Every mode fsyncs when the layer is released.
 *
 * @since 0.1.0
 * @category models
 */
export type SyncMode = "always" | "everysec" | "never"

/**
 * @since 0.1.0
 * @category models
 */
export interface FileStoreOptions {
  /**
   * The log file. Its folder must exist. The store also uses `${path}.lock` (the one-writer lock) and
   * `${path}.compact` (the temporary file of a compaction).
   *
   * A file at `path` that is not a FileStore log is refused with a `Corrupt` error, never overwritten.
   */
  readonly path: string
  /** When the log is fsynced: see {@link SyncMode}. Default: `"everysec"`. */
  readonly sync?: SyncMode | undefined
  /**
   * How often the background cleanup removes expired sessions from memory. Default: 1 minute. `0` disables the
   * cleanup (expired sessions are still never returned: expiry is checked on every read). Their bytes in the log
   * are reclaimed by compaction.
   */
  readonly cleanupInterval?: Duration.DurationInput | undefined
  /**
   * Automatic compaction: the log is rewritten with only the live sessions when it is at least twice their size
   * and at least `minSize` bytes (default: 1 MiB). `false` turns it off (`FileStore.compact` still works).
   */
  readonly compaction?: { readonly minSize?: number | undefined } | false | undefined
}

/**
 * The FileStore service: a `SessionStore` plus a view of the log and manual controls.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileStore extends Store.SessionStoreService {
  /** How many entries are held in memory, expired or not (a sweep or a read removes expired ones). */
  readonly size: Effect.Effect<number>
  /** The size of the log file in bytes, header included. */
  readonly logSize: Effect.Effect<number>
  /** The size, in bytes, that the log would have right after a compaction: the header plus one record per entry. */
  readonly liveSize: Effect.Effect<number>
  /**
   * Rewrites the log now with only the live sessions, and waits until it is done (if a compaction is already
   * running, waits for it, then runs a new one). Saves and deletes keep working meanwhile.
   */
  readonly compact: Effect.Effect<void, Store.SessionStoreError>
  /** Flushes every acknowledged record to stable storage now (an fsync), whatever the sync mode. */
  readonly sync: Effect.Effect<void, Store.SessionStoreError>
}

/**
 * The tag of the FileStore service, provided by {@link layer} next to the generic `SessionStore`.
 *
 * @since 0.1.0
 * @category tags
 */
export const FileStore: Context.Tag<FileStore, FileStore> = Context.GenericTag<FileStore>("effect-session/FileStore")

/**
 * The longest token FileStore accepts, in UTF-8 bytes. A longer one fails `save` with an `InvalidInput` error.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxTokenBytes: number = Log.MAX_TOKEN_BYTES

/**
 * The most bytes one session can hold in FileStore: 64 MiB. Larger data fails `save` with an `InvalidInput` error.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDataBytes: number = Log.MAX_DATA_BYTES

const METHOD = "FileStore.make"
const READ_CHUNK = 8 * 1024 * 1024
const WRITE_CHUNK = 4 * 1024 * 1024
/** During a compaction, the log written meanwhile is copied without blocking writers until less than this is left. */
const TAIL_UNLOCKED = 1024 * 1024
const DEFAULT_MIN_SIZE = 1024 * 1024

interface Config {
  readonly path: string
  readonly sync: SyncMode
  readonly cleanupInterval: Duration.Duration
  readonly compaction: false | { readonly minSize: number }
}

interface Handle {
  readonly file: FileSystem.File
  readonly scope: Scope.CloseableScope
}

interface PendingOp {
  readonly op: typeof Log.OP_PUT | typeof Log.OP_DELETE
  readonly token: string
  readonly method: string
  /** A put's record; a delete's is built by the writer, only if the token exists. */
  record: Buffer | undefined
  /** A put's data, a view into its record: what the index keeps. */
  readonly data: Uint8Array | undefined
  readonly expiresAt: number
  cancelled: boolean
  resume: ((effect: Effect.Effect<void, Store.SessionStoreError>) => void) | undefined
}

interface Compaction {
  readonly done: Deferred.Deferred<void, Store.SessionStoreError>
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /**
   * The log may grow up to this size while the compaction runs; beyond it the writer waits for the compaction to
   * finish, so that a writer faster than the compaction cannot grow the log without bound.
   */
  readonly growUntil: number
}

const closed = (method: string) => new Store.SessionStoreError({ reason: "Closed", method })

const invalid = (method: string, description: string) =>
  new Store.SessionStoreError({ reason: "InvalidInput", method, description })

const ioError = (method: string, what?: string) => (cause: PlatformError.PlatformError) =>
  new Store.SessionStoreError({
    reason: "Io",
    method,
    description: what === undefined ? cause.message : `${what}: ${cause.message}`,
    cause
  })

const entrySize = (entry: IndexEntry): number =>
  Log.recordSize(Buffer.byteLength(entry.token, "utf8"), entry.data.length)

const surrogate = /[\uD800-\uDFFF]/

/** The token's UTF-8 bytes, or why it cannot be stored. */
const encodeToken = (token: string): Buffer | string => {
  const bytes = Buffer.from(token, "utf8")
  if (bytes.length > Log.MAX_TOKEN_BYTES) {
    return `the token is ${bytes.length} bytes long in UTF-8, above the limit of ${Log.MAX_TOKEN_BYTES}`
  }
  // a lone surrogate would not survive the round trip through UTF-8 (it would come back as U+FFFD)
  if (surrogate.test(token) && bytes.toString("utf8") !== token) return "the token is not well-formed UTF-16"
  return bytes
}

const validate = (options: FileStoreOptions): Effect.Effect<Config, Store.SessionStoreError> =>
  Effect.gen(function*() {
    if (typeof options?.path !== "string" || options.path.length === 0) {
      return yield* Effect.fail(invalid(METHOD, "path must be a non-empty string"))
    }
    const sync = options.sync ?? "everysec"
    if (sync !== "always" && sync !== "everysec" && sync !== "never") {
      return yield* Effect.fail(
        invalid(METHOD, `sync must be "always", "everysec" or "never", got ${JSON.stringify(sync)}`)
      )
    }
    const cleanupInterval = yield* Options.duration(METHOD, "cleanupInterval", options.cleanupInterval, "1 minute")
    let compaction: Config["compaction"] = { minSize: DEFAULT_MIN_SIZE }
    if (options.compaction === false) {
      compaction = false
    } else if (options.compaction !== undefined) {
      const minSize = options.compaction.minSize ?? DEFAULT_MIN_SIZE
      if (!Number.isSafeInteger(minSize) || minSize < 0) {
        return yield* Effect.fail(
          invalid(METHOD, `compaction.minSize must be a non-negative integer, got ${String(minSize)}`)
        )
      }
      compaction = { minSize }
    }
    return { path: options.path, sync, cleanupInterval, compaction }
  })

/**
 * Opens (or creates) the FileStore log at `options.path` in the current scope: takes the lock, replays the log
 * into memory, and starts the background fibers (cleanup, the once-a-second fsync of `"everysec"`, compaction).
 * Closing the scope writes out what is pending, fsyncs, closes the file, releases the lock and stops the fibers;
 * after that, every operation fails with a `Closed` error.
 *
 * Fails with `Locked` when another live store holds the path, `Corrupt` when the file is not a FileStore log,
 * `InvalidInput` for invalid options, and `Io` when the file system fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: FileStoreOptions
): Effect.Effect<FileStore, Store.SessionStoreError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* validate(options)
    const fs = yield* FileSystem.FileSystem
    const layerScope = yield* Effect.scope
    const path = config.path
    const tmpPath = `${path}.compact`
    const directory = Path.dirname(Path.resolve(path))

    yield* FileLock.acquire(fs, `${path}.lock`, METHOD)

    const index = new MemoryIndex()
    /** The bytes of the records of the entries in `index` (what a compaction would write, header aside). */
    let liveBytes = 0
    /** The end of the last good record in the log: where the next batch is written. */
    let logEnd = 0
    let handle: Handle | undefined
    /** A failed write may have left bytes after `logEnd`: truncate before the next one. */
    let needsTruncate = false
    /** Records were written since the last fsync. */
    let dirty = false
    let isClosed = false
    let pending: Array<PendingOp> = []
    let compaction: Compaction | undefined
    /** After a failed compaction, the log size below which no automatic one is tried again. */
    let compactionRetryAt = 0

    const writeLock = yield* Effect.makeSemaphore(1)
    const syncLock = yield* Effect.makeSemaphore(1)
    const wakeWriter = yield* Effect.makeLatch(false)
    /**
     * Closed while a compaction waits for the writer's lock: the semaphore is not fair, and a busy writer would
     * otherwise take it back batch after batch.
     */
    const writerGate = yield* Effect.makeLatch(true)

    const dropEntry = (entry: IndexEntry) => {
      liveBytes -= entrySize(entry)
    }

    const openHandle = (file: string, flag: FileSystem.OpenFlag): Effect.Effect<Handle, PlatformError.PlatformError> =>
      Effect.flatMap(Scope.make(), (scope) =>
        Scope.extend(fs.open(file, { flag }), scope).pipe(
          Effect.map((opened): Handle => ({ file: opened, scope })),
          Effect.onError(() => Scope.close(scope, Exit.void))
        ))

    // makes a created or renamed log durable; some platforms (Windows) cannot fsync a folder at all
    const syncDirectory = fs.open(directory, { flag: "r" }).pipe(
      Effect.flatMap((dir) => dir.sync),
      Effect.scoped,
      Effect.catchAll((error) =>
        error._tag === "SystemError" && (error.reason === "BadResource" || error.reason === "PermissionDenied")
          ? Effect.logDebug(`FileStore: this platform cannot fsync the folder ${directory}`, error)
          : Effect.logWarning(`FileStore: cannot fsync the folder ${directory}`, error)
      )
    )

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const current = handle
        handle = undefined
        return current === undefined ? Effect.void : Scope.close(current.scope, Exit.void)
      })
    )

    // ---- open: create, or validate the header and replay ----

    const readFully = (file: FileSystem.File, into: Buffer) =>
      Effect.gen(function*() {
        let filled = 0
        while (filled < into.length) {
          const n = Number(yield* file.read(into.subarray(filled)))
          if (n === 0) break
          filled += n
        }
        return filled
      })

    const initialize = (file: FileSystem.File) =>
      Effect.gen(function*() {
        yield* file.truncate(0)
        yield* file.seek(0, "start")
        yield* file.writeAll(Log.encodeHeader())
        yield* file.sync
        return Log.HEADER_SIZE
      })

    const replay = (file: FileSystem.File, fileSize: number, now: number) =>
      Effect.gen(function*() {
        // the hot loop of opening: no Effect per record, small data copied into shared slabs
        const copier = new Log.SlabCopier()
        const sink: Log.ScanSink = {
          put(token, expiresAt, buffer, dataStart, dataEnd) {
            if (expiresAt <= now) index.delete(token)
            else index.set(token, copier.copy(buffer, dataStart, dataEnd), expiresAt)
          },
          delete(token) {
            index.delete(token)
          }
        }
        let buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(READ_CHUNK, fileSize - Log.HEADER_SIZE)))
        let bufferStart = Log.HEADER_SIZE // the file offset of buffer[0]
        let filled = 0
        let readPos = Log.HEADER_SIZE
        let eof = readPos >= fileSize
        yield* file.seek(readPos, "start")
        for (;;) {
          while (!eof && filled < buffer.length) {
            const n = Number(
              yield* file.read(buffer.subarray(filled, Math.min(buffer.length, filled + fileSize - readPos)))
            )
            filled += n
            readPos += n
            if (n === 0 || readPos >= fileSize) eof = true
          }
          const result = Log.scanRecords(buffer, 0, filled, sink)
          if (result._tag === "Corrupt") return { good: bufferStart + result.offset, why: result.why }
          if (result._tag === "Done") {
            if (eof) return { good: bufferStart + result.offset, why: "" }
            bufferStart += filled
            filled = 0
            continue
          }
          const recordStart = bufferStart + result.offset
          if (eof || recordStart + result.needed > fileSize) return { good: recordStart, why: "incomplete record" }
          if (result.needed > buffer.length) {
            const bigger = Buffer.allocUnsafeSlow(Math.max(result.needed, READ_CHUNK))
            buffer.copy(bigger, 0, result.offset, filled)
            buffer = bigger
          } else {
            buffer.copyWithin(0, result.offset, filled)
          }
          filled -= result.offset
          bufferStart = recordStart
        }
      })

    const open = Effect.gen(function*() {
      // a compaction that was interrupted by a crash left its temporary file: we hold the lock, so it is garbage
      yield* fs.remove(tmpPath, { force: true })
      if (!(yield* fs.exists(path))) {
        handle = yield* openHandle(path, "wx+")
        logEnd = yield* initialize(handle.file)
        yield* syncDirectory
        return
      }
      handle = yield* openHandle(path, "r+")
      const file = handle.file
      const fileSize = Number((yield* file.stat).size)
      const head = Buffer.alloc(Log.HEADER_SIZE)
      yield* file.seek(0, "start")
      const headLength = yield* readFully(file, head)
      const header = Log.checkHeader(head, Math.min(headLength, fileSize))
      switch (header._tag) {
        case "Blank": {
          // empty, or the creation of the log was interrupted before its header was complete
          logEnd = yield* initialize(file)
          return
        }
        case "Foreign":
        case "Damaged":
        case "UnsupportedVersion": {
          const why = header._tag === "Foreign"
            ? "it is not a FileStore log"
            : header._tag === "Damaged"
            ? "its header is damaged"
            : `it was written by an unsupported format version (${header.version})`
          return yield* Effect.fail(
            new Store.SessionStoreError({
              reason: "Corrupt",
              method: METHOD,
              description: `refusing to open ${path}: ${why}`
            })
          )
        }
      }
      const now = yield* Clock.currentTimeMillis
      const { good, why } = yield* replay(file, fileSize, now)
      logEnd = good
      liveBytes = 0
      for (const entry of index.values()) liveBytes += entrySize(entry)
      if (good < fileSize) {
        yield* file.truncate(good)
        yield* file.sync
        yield* Effect.logWarning(
          `FileStore: dropped ${fileSize - good} bytes of torn or corrupt log tail at offset ${good} (${why}); ` +
            `every record before it was kept`
        ).pipe(Effect.annotateLogs({ path, droppedBytes: fileSize - good, offset: good }))
      }
    })

    yield* open.pipe(
      Effect.catchIf(
        (error): error is PlatformError.PlatformError => error._tag !== "SessionStoreError",
        (error) => Effect.fail(ioError(METHOD, `cannot open ${path}`)(error))
      )
    )

    // ---- the writer: one fiber appends every record, batching whatever is pending ----

    /** Completes a queued operation (once: later calls do nothing). */
    const settle = (op: PendingOp, outcome: Effect.Effect<void, Store.SessionStoreError>) => {
      const resume = op.resume
      op.resume = undefined
      if (resume !== undefined) resume(outcome)
    }

    const unexpected = (method: string, cause: Cause.Cause<unknown>) =>
      new Store.SessionStoreError({
        reason: "Io",
        method,
        description: "cannot append to the log",
        cause: Cause.squash(cause)
      })

    const submit = (op: PendingOp): Effect.Effect<void, Store.SessionStoreError> =>
      Effect.async<void, Store.SessionStoreError>((resume) => {
        if (isClosed) {
          resume(Effect.fail(closed(op.method)))
          return
        }
        op.resume = resume
        pending.push(op)
        wakeWriter.unsafeOpen()
        // interrupted while still queued: never written
        return Effect.sync(() => {
          op.cancelled = true
        })
      })

    const writeRecords = (file: FileSystem.File, records: ReadonlyArray<Buffer>) =>
      Effect.suspend(() => {
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
          if (groupBytes > 0 && groupBytes + record.length > WRITE_CHUNK) flush()
          group.push(record)
          groupBytes += record.length
        }
        flush()
        return Effect.forEach(chunks, (chunk) => file.writeAll(chunk), { discard: true })
      })

    const apply = (ops: ReadonlyArray<PendingOp>) => {
      for (const op of ops) {
        const existing = index.peek(op.token)
        if (existing !== undefined) dropEntry(existing)
        if (op.op === Log.OP_PUT) {
          index.set(op.token, op.data!, op.expiresAt)
          liveBytes += op.record!.length
        } else if (existing !== undefined) {
          index.delete(op.token)
        }
      }
    }

    /** Appends the records of `ops` at `logEnd`; on success, applies them to the index. Never interrupted midway. */
    const append = (ops: ReadonlyArray<PendingOp>, records: ReadonlyArray<Buffer>, bytes: number) =>
      Effect.gen(function*() {
        const file = handle!.file
        if (needsTruncate) {
          yield* file.truncate(logEnd)
          needsTruncate = false
        }
        yield* file.seek(logEnd, "start")
        yield* writeRecords(file, records)
        if (config.sync === "always") yield* file.sync
        else dirty = true
        logEnd += bytes
        apply(ops)
      }).pipe(
        Effect.tapError(() =>
          Effect.suspend(() => {
            // the batch is not acknowledged: take its bytes back out of the log (or before the next write)
            needsTruncate = true
            return handle === undefined ? Effect.void : Effect.ignore(
              Effect.tap(handle.file.truncate(logEnd), () => {
                needsTruncate = false
              })
            )
          })
        ),
        writeLock.withPermits(1),
        Effect.uninterruptible
      )

    const writeBatch = (ops: ReadonlyArray<PendingOp>): Effect.Effect<void> =>
      Effect.suspend(() => {
        const included: Array<PendingOp> = []
        const records: Array<Buffer> = []
        let bytes = 0
        let savedHere: Set<string> | undefined
        for (const op of ops) {
          if (op.cancelled) continue
          if (op.op === Log.OP_PUT) {
            ;(savedHere ??= new Set()).add(op.token)
          } else if (!index.has(op.token) && savedHere?.has(op.token) !== true) {
            // nothing to delete: no record, so deleting unknown tokens cannot grow the log
            settle(op, Effect.void)
            continue
          } else {
            op.record = Log.encodeDelete(Buffer.from(op.token, "utf8"))
          }
          included.push(op)
          records.push(op.record!)
          bytes += op.record!.length
        }
        if (included.length === 0) return Effect.void
        return append(included, records, bytes).pipe(
          Effect.matchCauseEffect({
            onSuccess: () =>
              Effect.suspend(() => {
                for (const op of included) settle(op, Effect.void)
                return maybeCompact
              }),
            onFailure: (cause) =>
              Effect.sync(() => {
                const failure = Option.getOrUndefined(Cause.failureOption(cause))
                for (const op of included) {
                  settle(
                    op,
                    Effect.fail(
                      failure !== undefined
                        ? ioError(op.method, "cannot append to the log")(failure)
                        : unexpected(op.method, cause)
                    )
                  )
                }
              })
          })
        )
      })

    const writerLoop = Effect.gen(function*() {
      for (;;) {
        yield* wakeWriter.await
        if (pending.length === 0) {
          if (isClosed) return
          wakeWriter.unsafeClose()
          continue
        }
        yield* writerGate.await
        // backpressure: a running compaction must catch up with the log before it grows any further
        const running = compaction
        if (running !== undefined && logEnd >= running.growUntil) {
          // whatever the outcome, interruption included (closing interrupts the compaction): the writer goes on, and
          // a close still writes out what is pending
          yield* Effect.exit(Deferred.await(running.done))
        }
        const ops = pending
        pending = []
        // a safety net: whatever happens, no caller is left waiting
        yield* Effect.catchAllCause(writeBatch(ops), (cause) =>
          Effect.sync(() => {
            for (const op of ops) settle(op, Effect.fail(unexpected(op.method, cause)))
          }))
      }
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        const left = pending
        pending = []
        for (const op of left) settle(op, Effect.fail(closed(op.method)))
      }))
    )

    // ---- fsync ----

    const syncNow = (method: string, force: boolean) =>
      Effect.suspend(() => {
        if (handle === undefined) return Effect.fail(closed(method))
        if (!force && !dirty) return Effect.void
        dirty = false
        return handle!.file.sync.pipe(
          Effect.tapError(() =>
            Effect.sync(() => {
              dirty = true
            })
          ),
          Effect.mapError(ioError(method, "cannot fsync the log"))
        )
      }).pipe(syncLock.withPermits(1), Effect.uninterruptible)

    // ---- compaction ----

    const shouldCompact = () =>
      config.compaction !== false &&
      !isClosed &&
      compaction === undefined &&
      logEnd >= config.compaction.minSize &&
      logEnd >= 2 * (Log.HEADER_SIZE + liveBytes) &&
      logEnd >= compactionRetryAt

    /** Copies the old log's bytes `[from, to)` to the end of `target`. */
    const copyRange = (source: FileSystem.File, target: FileSystem.File, from: number, to: number) =>
      Effect.gen(function*() {
        const buffer = Buffer.allocUnsafeSlow(Math.min(READ_CHUNK, to - from))
        yield* source.seek(from, "start")
        let position = from
        while (position < to) {
          const n = yield* readFully(source, buffer.subarray(0, Math.min(buffer.length, to - position)))
          if (n === 0) {
            return yield* Effect.fail(
              new Store.SessionStoreError({
                reason: "Io",
                method: "compact",
                description: `the log ended at ${position}, before ${to}`
              })
            )
          }
          yield* target.writeAll(buffer.subarray(0, n))
          position += n
        }
      })

    const runCompaction = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // The snapshot: the entries in the index and the end of the log, at the same moment. Each entry is written
      // as it is when its turn comes, which may be newer than the snapshot: harmless, because every change made
      // after the snapshot also has its record in the tail [snapshotEnd, logEnd), copied after them.
      const entries = Array.from(index.values())
      const snapshotEnd = logEnd

      const target = yield* openHandle(tmpPath, "w+").pipe(
        Effect.mapError(ioError("compact", `cannot create ${tmpPath}`))
      )
      let swapped = false
      yield* Effect.gen(function*() {
        const file = target.file
        let written = 0
        let chunk = Buffer.allocUnsafeSlow(WRITE_CHUNK)
        let used = 0
        Log.encodeHeader().copy(chunk, 0)
        used = Log.HEADER_SIZE
        for (const entry of entries) {
          if (entry.expiresAt <= now) {
            if (index.peek(entry.token) === entry) {
              index.delete(entry.token)
              dropEntry(entry)
            }
            continue
          }
          const token = Buffer.from(entry.token, "utf8")
          const data = entry.data
          const size = Log.recordSize(token.length, data.length)
          if (used + size > chunk.length) {
            yield* file.writeAll(chunk.subarray(0, used))
            written += used
            used = 0
            if (size > chunk.length) chunk = Buffer.allocUnsafeSlow(size)
          }
          used = Log.writePutInto(chunk, used, token, entry.expiresAt, data)
        }
        yield* file.writeAll(chunk.subarray(0, used))
        written += used
        yield* file.sync

        // what was appended meanwhile: copy it without blocking the writer while there is much of it
        const source = yield* fs.open(path, { flag: "r" })
        let copied = snapshotEnd
        while (logEnd - copied > TAIL_UNLOCKED) {
          const to = logEnd
          yield* copyRange(source, file, copied, to)
          written += to - copied
          copied = to
        }

        // the swap: with the writer held, copy the rest, fsync, rename over the log, and switch handles
        const swap = Effect.gen(function*() {
          if (isClosed) return yield* Effect.fail(closed("compact"))
          const to = logEnd
          if (to > copied) {
            yield* copyRange(source, file, copied, to)
            written += to - copied
          }
          yield* file.sync
          yield* fs.rename(tmpPath, path)
          const old = handle
          handle = target
          swapped = true
          logEnd = written
          needsTruncate = false
          dirty = false
          compactionRetryAt = 0
          if (old !== undefined) yield* Scope.close(old.scope, Exit.void)
          yield* syncDirectory
        }).pipe(syncLock.withPermits(1), writeLock.withPermits(1), Effect.uninterruptible)
        yield* Effect.acquireUseRelease(
          Effect.sync(() => writerGate.unsafeClose()),
          () => swap,
          () => Effect.sync(() => writerGate.unsafeOpen())
        )
      }).pipe(
        Effect.scoped,
        Effect.catchIf(
          (error): error is PlatformError.PlatformError => error._tag !== "SessionStoreError",
          (error) => Effect.fail(ioError("compact", "compaction failed")(error))
        ),
        Effect.onExit(() =>
          swapped ? Effect.void : Effect.zipRight(
            Scope.close(target.scope, Exit.void),
            Effect.ignore(fs.remove(tmpPath, { force: true }))
          )
        )
      )
    })

    /** Starts a compaction in the background (or returns the one running). */
    const startCompaction: Effect.Effect<Compaction> = Effect.suspend(() => {
      if (compaction !== undefined) return Effect.succeed(compaction)
      const current: Compaction = {
        done: Deferred.unsafeMake<void, Store.SessionStoreError>(FiberId.none),
        fiber: undefined,
        // what the log may take on meanwhile: as much as the live data (at least 1 MiB, TAIL_UNLOCKED)
        growUntil: logEnd + Math.max(TAIL_UNLOCKED, Log.HEADER_SIZE + liveBytes)
      }
      compaction = current
      const run = runCompaction.pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new Store.SessionStoreError({
              reason: "Io",
              method: "compact",
              description: "compaction failed",
              cause: defect
            })
          )
        ),
        Effect.tapError((error) =>
          Effect.suspend(() => {
            if (error.reason === "Closed") return Effect.void
            compactionRetryAt = Math.ceil(logEnd * 1.5)
            return Effect.logWarning("FileStore: compaction failed; the log is left as it was", error)
          })
        ),
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            if (compaction === current) compaction = undefined
            return Deferred.done(current.done, exit)
          })
        ),
        Effect.onInterrupt(() => Deferred.interrupt(current.done)),
        Effect.ensuring(Effect.sync(() => {
          if (compaction === current) compaction = undefined
        })),
        Effect.asVoid
      )
      // a daemon, not a child of the layer scope: a fiber forked into a scope that is closing would be interrupted
      // before it starts, leaving `done` unsettled; the release finalizer interrupts this one explicitly
      return Effect.map(Effect.forkDaemon(run), (fiber) => {
        current.fiber = fiber
        return current
      })
    })

    const maybeCompact: Effect.Effect<void> = Effect.suspend(() =>
      shouldCompact() ? Effect.asVoid(startCompaction) : Effect.void
    )

    const compact: Effect.Effect<void, Store.SessionStoreError> = Effect.suspend(() => {
      if (isClosed) return Effect.fail(closed("compact"))
      const running = compaction
      const waitRunning = running === undefined ? Effect.void : Effect.ignore(Deferred.await(running.done))
      return waitRunning.pipe(
        Effect.zipRight(Effect.suspend(() => isClosed ? Effect.fail(closed("compact")) : startCompaction)),
        Effect.flatMap((started) => Deferred.await(started.done)),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.fail(closed("compact")) : Effect.failCause(cause)
        )
      )
    }).pipe(Effect.withSpan("FileStore.compact"))

    // ---- background fibers ----

    const writer = yield* Effect.forkIn(writerLoop, layerScope)

    // every second of wall-clock time, whatever the Effect Clock says: it bounds what a power failure can lose
    const syncFiber = config.sync === "everysec"
      ? yield* syncNow("sync", false).pipe(
        Effect.catchAll((error) => Effect.logWarning("FileStore: the once-a-second fsync failed", error)),
        Effect.repeat(Schedule.spaced("1 second")),
        Effect.delay("1 second"),
        Effect.interruptible,
        Effect.withClock(Clock.make()),
        Effect.forkIn(layerScope)
      )
      : undefined

    const sweep = Effect.flatMap(Clock.currentTimeMillis, (now) => sweepExpired(index, now, dropEntry))
    const cleanupFiber = Duration.greaterThan(config.cleanupInterval, Duration.zero)
      ? yield* sweep.pipe(
        Effect.repeat(Schedule.spaced(config.cleanupInterval)),
        Effect.delay(config.cleanupInterval),
        Effect.interruptible,
        Effect.forkIn(layerScope)
      )
      : undefined

    // ---- release: write out what is pending, stop the fibers, fsync, close ----

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        isClosed = true
        wakeWriter.unsafeOpen()
        const running = compaction
        if (running !== undefined) {
          if (running.fiber !== undefined) {
            // a fiber interrupted before it started runs none of its handlers: settle its outcome here
            yield* Fiber.interrupt(running.fiber)
            yield* Deferred.fail(running.done, closed("compact"))
          } else {
            // not forked yet: it will stop at the swap, which it does not perform once the store is closed
            yield* Effect.exit(Deferred.await(running.done))
          }
        }
        yield* Fiber.await(writer)
        if (syncFiber !== undefined) yield* Fiber.interrupt(syncFiber)
        if (cleanupFiber !== undefined) yield* Fiber.interrupt(cleanupFiber)
        yield* syncNow("close", true).pipe(
          Effect.catchAll((error) => Effect.logWarning(`FileStore: the final fsync of ${path} failed`, error))
        )
      })
    )

    yield* maybeCompact

    const store = Store.make({
      find: (token) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (isClosed) return Effect.fail(closed("find"))
          const entry = index.peek(token)
          if (entry === undefined) return Effect.succeedNone
          if (entry.expiresAt <= now) {
            index.delete(token)
            dropEntry(entry)
            return Effect.succeedNone
          }
          return Effect.succeed(Option.some(entry.data.slice()))
        }),
      save: (token, data, expiry) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (isClosed) return Effect.fail(closed("save"))
          const tokenBytes = encodeToken(token)
          if (typeof tokenBytes === "string") return Effect.fail(invalid("save", tokenBytes))
          if (data.length > Log.MAX_DATA_BYTES) {
            return Effect.fail(
              invalid("save", `the data is ${data.length} bytes long, above the limit of ${Log.MAX_DATA_BYTES}`)
            )
          }
          const expiresAt = DateTime.toEpochMillis(expiry)
          if (expiresAt <= now) {
            return submit({
              op: Log.OP_DELETE,
              token,
              method: "save",
              record: undefined,
              data: undefined,
              expiresAt: 0,
              cancelled: false,
              resume: undefined
            })
          }
          const encoded = Log.encodePut(tokenBytes, expiresAt, data)
          return submit({
            op: Log.OP_PUT,
            token,
            method: "save",
            record: encoded.record,
            data: encoded.data,
            expiresAt,
            cancelled: false,
            resume: undefined
          })
        }),
      delete: (token) =>
        Effect.suspend(() =>
          submit({
            op: Log.OP_DELETE,
            token,
            method: "delete",
            record: undefined,
            data: undefined,
            expiresAt: 0,
            cancelled: false,
            resume: undefined
          })
        ),
      all: Stream.unwrap(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (isClosed) return Effect.fail(closed("all"))
        const live = index.live(now)
        return Effect.succeed(
          Stream.fromIterable(live).pipe(Stream.map((entry) => [entry.token, entry.data.slice()] as const))
        )
      }))
    })

    return FileStore.of({
      ...store,
      size: Effect.sync(() => index.size),
      logSize: Effect.sync(() => logEnd),
      liveSize: Effect.sync(() => Log.HEADER_SIZE + liveBytes),
      compact,
      sync: Effect.suspend(() => isClosed ? Effect.fail(closed("sync")) : syncNow("sync", true)).pipe(
        Effect.withSpan("FileStore.sync")
      )
    })
  })

/**
 * A layer providing both the generic `SessionStore` and the `FileStore` tag. It needs a platform `FileSystem`.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { FileStore, Store } from "effect-session"
 *
 * const SessionStoreLive = FileStore.layer({ path: "./sessions.log", sync: "everysec" }).pipe(
 *   Layer.provide(NodeFileSystem.layer)
 * )
 *
 * const program = Store.find("token").pipe(Effect.provide(SessionStoreLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: FileStoreOptions
): Layer.Layer<Store.SessionStore | FileStore, Store.SessionStoreError, FileSystem.FileSystem> =>
  Layer.scopedContext(
    Effect.map(make(options), (store) => Context.make(FileStore, store).pipe(Context.add(Store.SessionStore, store)))
  )
