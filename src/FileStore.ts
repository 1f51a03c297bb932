/**
 * An embedded `SessionStore` that survives restarts and crashes: one append-only log file plus an in-memory
 * index. The engine for a single server that should not log its users out when it restarts, with no database to
 * run.
 *
 * - Reads never touch the disk: the index is loaded when the store opens, and `find` is a map lookup.
 * - Each `save` and `delete` appends one checksummed record to the log. Concurrent writes are batched into one
 *   write (and, with `sync: "always"`, share one fsync: group commit). A `saveIf` or `touch` appends one too when
 *   its condition holds (a `touch` writes the entry's bytes again with the new expiry), and none when it does not.
 * - Versions (`load`, `saveIf`, `touch`) come from a counter of the open store, in base 36, and are not kept in
 *   the log: opening gives every entry a new one. A `saveIf` that removes the entry (an expiry not after now)
 *   answers a version from the counter that no entry holds.
 * - Opening replays the log. A torn tail (a crash in the middle of a write: an incomplete last record, nothing
 *   valid after it) is cut off, with a warning that says how many bytes were dropped; every record before it is
 *   kept. Damage in the middle of the log is skipped: the records after it are kept, the damaged bytes are kept
 *   aside in `${path}.damaged-<time>`, the log is rewritten from memory, and an error is logged (see
 *   `onCorruption`). Each log has a random secret in its header that every record carries, so no bytes stored in a
 *   session can pass for a record.
 * - When the log is at least twice the size of the live sessions (and above `compaction.minSize`), it is
 *   rewritten in the background with only the live sessions, then atomically renamed over the old one. Saves and
 *   deletes keep working meanwhile, and none is lost.
 * - One process at a time: a lock file, `${path}.lock`, makes a second store on the same path fail with a `Locked`
 *   error; a lock left by a process that died is taken over. (A lock written on another host, such as a previous
 *   container with another host name, is taken over once its owner has stopped refreshing it for 60 seconds.)
 * - The log's real path is resolved once, at open: through a symbolic link, the store works on (and compacts) the
 *   link's target, with its lock next to it. Before each write batch the store checks that the open file is still
 *   the log it wrote (not truncated, moved or replaced, as logrotate does); if not, it rewrites the log from memory
 *   before writing. Every file it creates has mode 0600.
 * - Every session is held in memory: size the process for the live data, plus the log's buffers.
 *
 * All I/O goes through the `FileSystem` service of `@effect/platform`, so the store runs wherever a platform
 * file system layer exists (`@effect/platform-node`'s `NodeFileSystem.layer`, Bun's, ...).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { CONFLICT, dataTooLarge, deleteWrite, encodeToken, putWrite } from "./core/fileBatch.js"
import type { CompactionPolicy } from "./core/fileCompaction.js"
import { FileIndex } from "./core/fileIndex.js"
import * as Log from "./core/fileLog.js"
import { checkCompaction, checkOnCorruption, checkPathAndSync, type OnCorruption } from "./core/fileOptions.js"
import { formatVersion, parseVersion } from "./core/memoryIndex.js"
import * as Compaction from "./fileStore/compaction.js"
import { closed, invalid } from "./fileStore/errors.js"
import * as Lock from "./fileStore/lock.js"
import { LogFile } from "./fileStore/logFile.js"
import { open } from "./fileStore/open.js"
import { resolveLogPaths } from "./fileStore/paths.js"
import { rewriteLog } from "./fileStore/rewrite.js"
import * as Writer from "./fileStore/writer.js"
import { withNow } from "./internal/clock.js"
import * as Options from "./internal/options.js"
import { sweepExpired } from "./internal/sweep.js"
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
   * The log file. A missing folder is created (with its parents, mode 0700). A symbolic link is resolved once,
   * when the store opens: the store works on the link's target (a missing folder is the target's), and keeps its
   * other files next to it: `${path}.lock` (the one-writer lock), `${path}.compact` and `${path}.rewrite`
   * (temporary files), `${path}.damaged-<time>` (damaged bytes kept aside).
   * Every file the store creates has mode 0600.
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
  /**
   * What opening does with damage in the middle of the log (bytes that are not a valid record, followed by valid
   * records; a torn tail, with nothing valid after it, is always cut off with a warning):
   *
   * - `"skip"` (default): the damaged bytes are kept aside in `${path}.damaged-<time>` (mode 0600), the valid
   *   records after them are kept, the log is rewritten from memory, and an error is logged with the offsets. A
   *   damaged record may have been a delete or a renew, so the sessions whose last record comes before the damage
   *   are treated as gone (their users log in again); sessions saved after the damage keep working.
   * - `"refuse"`: opening fails with a `Corrupt` error and leaves the file as it is, for someone to look at.
   */
  readonly onCorruption?: "skip" | "refuse" | undefined
  /**
   * How long opening waits for a lock held by another live store (say, the old process of a rolling deploy or a
   * `pm2 reload`, which releases it when it exits): the lock is tried again every 100 ms, on the wall clock, and
   * opening fails with `Locked` once this has passed. Default: `0`, fail with `Locked` at once.
   *
   * @since 0.2.0
   */
  readonly lockTimeout?: Duration.DurationInput | undefined
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

interface Config {
  readonly path: string
  readonly sync: SyncMode
  readonly cleanupInterval: Duration.Duration
  readonly compaction: CompactionPolicy
  readonly onCorruption: OnCorruption
  readonly lockTimeout: Duration.Duration
}

const validate = (options: FileStoreOptions): Effect.Effect<Config, Store.SessionStoreError> =>
  Effect.gen(function*() {
    const checked = checkPathAndSync(options)
    if (typeof checked === "string") return yield* Effect.fail(invalid(METHOD, checked))
    const cleanupInterval = yield* Options.duration(METHOD, "cleanupInterval", options.cleanupInterval, "1 minute")
    const compaction = checkCompaction(options.compaction)
    if (typeof compaction === "string") return yield* Effect.fail(invalid(METHOD, compaction))
    const onCorruption = checkOnCorruption(options.onCorruption)
    if (typeof onCorruption !== "string") return yield* Effect.fail(invalid(METHOD, onCorruption.invalid))
    const lockTimeout = yield* Options.duration(METHOD, "lockTimeout", options.lockTimeout, 0)
    return { ...checked, cleanupInterval, compaction: compaction.policy, onCorruption, lockTimeout }
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
    // the real path, resolved once: every other path (lock, compaction, folder, rename target) derives from it
    const paths = yield* resolveLogPaths(fs, config.path, METHOD)
    const path = paths.log

    yield* Lock.acquire(fs, paths.lock, METHOD, Duration.toMillis(config.lockTimeout))
    const index = new FileIndex()
    const log = yield* LogFile.make(fs, paths)
    log.repair = rewriteLog(fs, paths, log, index)
    yield* open(fs, paths, log, index, METHOD, config.onCorruption)

    const compaction = Compaction.make(fs, paths, log, index, config.compaction)
    const writer = yield* Writer.make(log, index, {
      fsync: config.sync === "always",
      beforeBatch: compaction.backpressure,
      afterBatch: compaction.maybeCompact
    })

    // ---- background fibers ----

    const writerFiber = yield* Effect.forkIn(writer.run, layerScope)

    // every second of wall-clock time, whatever the Effect Clock says: it bounds what a power failure can lose
    const syncFiber = config.sync === "everysec"
      ? yield* log.sync("sync", false).pipe(
        Effect.catchAll((error) => Effect.logWarning("FileStore: the once-a-second fsync failed", error)),
        Effect.repeat(Schedule.spaced("1 second")),
        Effect.delay("1 second"),
        Effect.interruptible,
        Effect.withClock(Clock.make()),
        Effect.forkIn(layerScope)
      )
      : undefined

    const sweep = Effect.flatMap(Clock.currentTimeMillis, (now) => sweepExpired(index.entries, now, index.dropped))
    const cleanupFiber = Duration.greaterThan(config.cleanupInterval, Duration.zero)
      ? yield* sweep.pipe(
        Effect.repeat(Schedule.spaced(config.cleanupInterval)),
        Effect.delay(config.cleanupInterval),
        Effect.interruptible,
        Effect.forkIn(layerScope)
      )
      : undefined

    // ---- release: write out what is pending, stop the fibers, fsync (then the file closes, the lock goes) ----

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        log.closed = true
        writer.wake()
        yield* compaction.stop
        yield* Fiber.await(writerFiber)
        if (syncFiber !== undefined) yield* Fiber.interrupt(syncFiber)
        if (cleanupFiber !== undefined) yield* Fiber.interrupt(cleanupFiber)
        yield* log.sync("close", true).pipe(
          Effect.catchAll((error) => Effect.logWarning(`FileStore: the final fsync of ${path} failed`, error))
        )
      })
    )

    yield* compaction.maybeCompact

    // ---- operations ----

    const store = Store.make({
      find: (token) =>
        withNow((now) => {
          if (log.closed) return Effect.fail(closed("find"))
          const data = index.find(token, now)
          return data === undefined ? Effect.succeedNone : Effect.succeed(Option.some(data))
        }),
      save: (token, data, expiry) =>
        withNow((now) => {
          if (log.closed) return Effect.fail(closed("save"))
          const tokenBytes = encodeToken(token)
          if (typeof tokenBytes === "string") return Effect.fail(invalid("save", tokenBytes))
          const tooLarge = dataTooLarge(data)
          if (tooLarge !== undefined) return Effect.fail(invalid("save", tooLarge))
          const expiresAt = DateTime.toEpochMillis(expiry)
          return Effect.asVoid(writer.submit(
            expiresAt <= now
              ? deleteWrite(token, "save")
              : putWrite(log.secret, token, tokenBytes, data, expiresAt, "save")
          ))
        }),
      delete: (token) => Effect.suspend(() => Effect.asVoid(writer.submit(deleteWrite(token, "delete")))),
      all: Stream.unwrap(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (log.closed) return Effect.fail(closed("all"))
        const live = index.entries.live(now)
        return Effect.succeed(
          Stream.fromIterable(live).pipe(Stream.map((entry) => [entry.token, entry.data.slice()] as const))
        )
      })),
      load: (key) =>
        withNow((now) => {
          if (log.closed) return Effect.fail(closed("load"))
          const entry = index.live(key, now)
          return entry === undefined ? Effect.succeedNone : Effect.succeed(Option.some<Store.StoredEntry>({
            data: entry.data.slice(),
            version: formatVersion(entry.version),
            expiry: DateTime.unsafeMake(entry.expiresAt)
          }))
        }),
      // The condition is decided by the writer when it plans the write's batch, against the index holding every
      // write acknowledged before (see `planBatch`). A version, once replaced, never comes back: when the index
      // already refuses, the answer is given at once.
      saveIf: (key, data, expiry, expected) =>
        withNow((now) => {
          if (log.closed) return Effect.fail(closed("saveIf"))
          const tokenBytes = encodeToken(key)
          if (typeof tokenBytes === "string") return Effect.fail(invalid("saveIf", tokenBytes))
          const tooLarge = dataTooLarge(data)
          if (tooLarge !== undefined) return Effect.fail(invalid("saveIf", tooLarge))
          const version = Option.isSome(expected) ? parseVersion(expected.value) : undefined
          const current = index.live(key, now)
          if (version === undefined ? current !== undefined : current?.version !== version) {
            return Effect.succeedNone
          }
          const condition = { expected: version, now, keepVersion: false }
          const expiresAt = DateTime.toEpochMillis(expiry)
          return Effect.map(
            writer.submit(
              expiresAt <= now
                ? deleteWrite(key, "saveIf", condition)
                : putWrite(log.secret, key, tokenBytes, data, expiresAt, "saveIf", condition)
            ),
            (written) => written === CONFLICT ? Option.none() : Option.some(formatVersion(written))
          )
        }),
      touch: (key, expiry, expected) =>
        withNow((now) => {
          if (log.closed) return Effect.fail(closed("touch"))
          const version = parseVersion(expected)
          const current = index.live(key, now)
          if (current === undefined || current.version !== version) return Effect.succeed(false)
          const condition = { expected: version, now, keepVersion: true }
          const expiresAt = DateTime.toEpochMillis(expiry)
          // the entry's bytes again, with the new expiry, so that a restart keeps it too
          const write: Writer.PendingOp = expiresAt <= now
            ? deleteWrite(key, "touch", condition)
            : putWrite(log.secret, key, Buffer.from(key, "utf8"), current.data, expiresAt, "touch", condition)
          return Effect.map(writer.submit(write), (written) => written !== CONFLICT)
        })
    })

    return FileStore.of({
      ...store,
      size: Effect.sync(() => index.size),
      logSize: Effect.sync(() => log.end),
      liveSize: Effect.sync(() => index.liveSize),
      compact: compaction.compact,
      sync: Effect.suspend(() => log.closed ? Effect.fail(closed("sync")) : log.sync("sync", true)).pipe(
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

/**
 * `layer`, typed as providing only the generic `Store.SessionStore` (not the `FileStore` tag). It needs a platform
 * `FileSystem`.
 *
 * Use it where layers of different engines must share one type, such as an engine chosen at run time:
 *
 * ```ts
 * const StoreLive = process.env.SESSION_STORE === "redis"
 *   ? RedisStore.layerStore({ url: process.env.REDIS_URL })
 *   : FileStore.layerStore({ path: "./sessions.log" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  options: FileStoreOptions
): Layer.Layer<Store.SessionStore, Store.SessionStoreError, FileSystem.FileSystem> =>
  Layer.scoped(Store.SessionStore, make(options))

/**
 * `layer`, with its options read from `Config`. It needs a platform `FileSystem`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { FileStore } from "effect-session"
 *
 * const SessionsLive = FileStore.layerConfig({
 *   path: Config.string("SESSION_FILE"),
 *   sync: Config.literal("always", "everysec", "never")("SESSION_SYNC").pipe(Config.withDefault("everysec"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<FileStoreOptions>
): Layer.Layer<
  Store.SessionStore | FileStore,
  ConfigError.ConfigError | Store.SessionStoreError,
  FileSystem.FileSystem
> =>
  Layer.scopedContext(
    Config.unwrap(config).pipe(
      Effect.flatMap(make),
      Effect.map((store) => Context.make(FileStore, store).pipe(Context.add(Store.SessionStore, store)))
    )
  )
