/**
 * The open log file: its handle and everything the store knows about it, in one object, so that the swap a
 * compaction makes (a new file, a new end) is one method.
 *
 * - `append` writes a batch of records at `end`, under the write lock; a failed write is taken back out.
 * - `sync` fsyncs, under the sync lock, when records were written since the last one (or when forced).
 * - `exclusive` holds the writer off (the gate, then both locks) for a compaction's swap; `swap` installs the
 *   compacted file.
 *
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { groupRecords } from "../core/fileBatch.js"
import * as Integrity from "../core/fileIntegrity.js"
import * as Log from "../core/fileLog.js"
import { FILE_MODE, type LogPaths } from "../core/filePaths.js"
import type * as Store from "../Store.js"
import { closed, ioError, isReason } from "./errors.js"

/** An open file and the scope that closes it. @internal */
export interface Handle {
  readonly file: FileSystem.File
  readonly scope: Scope.CloseableScope
}

/** Opens `path` in a scope of its own (closed by `closeHandle`, or here if opening fails). @internal */
export const openHandle = (
  fs: FileSystem.FileSystem,
  path: string,
  flag: FileSystem.OpenFlag,
  mode?: number
): Effect.Effect<Handle, PlatformError.PlatformError> =>
  Effect.flatMap(
    Scope.make(),
    (scope) =>
      Scope.extend(fs.open(path, mode === undefined ? { flag } : { flag, mode }), scope).pipe(
        Effect.map((file): Handle => ({ file, scope })),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
  )

/**
 * Creates `path`, which must not exist (a link planted there is not followed), readable and writable by its owner
 * only (mode 0600, whatever the umask), and opens it for reading and writing.
 *
 * @internal
 */
export const createPrivate = (
  fs: FileSystem.FileSystem,
  path: string
): Effect.Effect<Handle, PlatformError.PlatformError> =>
  Effect.tap(
    openHandle(fs, path, "wx+", FILE_MODE),
    (handle) => Effect.onError(fs.chmod(path, FILE_MODE), () => closeHandle(handle))
  )

/** @internal */
export const closeHandle = (handle: Handle): Effect.Effect<void> => Scope.close(handle.scope, Exit.void)

/**
 * Fsyncs a folder, which makes a file created or renamed in it durable. Some platforms (Windows) cannot fsync a
 * folder at all: that is logged, never failed.
 *
 * @internal
 */
export const syncDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<void> =>
  fs.open(directory, { flag: "r" }).pipe(
    Effect.flatMap((dir) => dir.sync),
    Effect.scoped,
    Effect.catchAll((error) =>
      error._tag === "SystemError" && (error.reason === "BadResource" || error.reason === "PermissionDenied")
        ? Effect.logDebug(`FileStore: this platform cannot fsync the folder ${directory}`, error)
        : Effect.logWarning(`FileStore: cannot fsync the folder ${directory}`, error)
    )
  )

/** A file's identity, `device:inode`. */
const identityOf = (info: FileSystem.File.Info): string => `${info.dev}:${Option.getOrElse(info.ino, () => "")}`

/** Reads from the current position until `into` is full or the file ends; returns the bytes read. */
const readAll = (file: FileSystem.File, into: Buffer): Effect.Effect<number, PlatformError.PlatformError> =>
  Effect.gen(function*() {
    let filled = 0
    while (filled < into.length) {
      const n = Number(yield* file.read(into.subarray(filled)))
      if (n === 0) break
      filled += n
    }
    return filled
  })

/** @internal */
export class LogFile {
  private handle: Handle | undefined = undefined
  /** The end of the last good record: where the next batch is written. */
  end = 0
  /** The log's record marker and checksum key (set when the log is opened; kept by compactions and rewrites). */
  secret!: Log.LogSecret
  /** Counts the files installed by `swap`: a compaction started before a swap must not swap in after it. */
  generation = 0
  /** Rewrites the log from memory (`rewrite.ts`; set by the store once its index exists). */
  repair: Effect.Effect<void, PlatformError.PlatformError> = Effect.void
  /** When the file at the log's path and the header were last checked (wall clock, epoch milliseconds). */
  private checkedAt = 0
  /** The store is closing or closed: no new writes, no compaction swaps in. */
  closed = false
  /** A failed write may have left bytes after `end`: truncate before the next one. */
  private needsTruncate = false
  /** Records were written since the last fsync. */
  private dirty = false

  private constructor(
    private readonly writeLock: Effect.Semaphore,
    private readonly syncLock: Effect.Semaphore,
    /**
     * Closed while a compaction waits for the writer's lock: the semaphore is not fair, and a busy writer would
     * otherwise take it back batch after batch.
     */
    private readonly gate: Effect.Latch,
    private readonly fs: FileSystem.FileSystem,
    readonly paths: LogPaths,
    /** Fsyncs the log's folder (after the log was created or renamed). */
    readonly syncFolder: Effect.Effect<void>
  ) {}

  /** A log file with nothing open yet (see `attach`); closing the current scope closes what is open then. */
  static make(fs: FileSystem.FileSystem, paths: LogPaths): Effect.Effect<LogFile, never, Scope.Scope> {
    return Effect.gen(function*() {
      const log = new LogFile(
        yield* Effect.makeSemaphore(1),
        yield* Effect.makeSemaphore(1),
        yield* Effect.makeLatch(true),
        fs,
        paths,
        syncDirectory(fs, paths.folder)
      )
      yield* Effect.addFinalizer(() => log.release)
      return log
    })
  }

  /** The open file (only while the store is open). */
  get file(): FileSystem.File {
    return this.handle!.file
  }

  /** Makes `handle` the log (at open). */
  attach(handle: Handle): void {
    this.handle = handle
  }

  /** Closes the file. */
  readonly release: Effect.Effect<void> = Effect.suspend(() => {
    const current = this.handle
    this.handle = undefined
    return current === undefined ? Effect.void : closeHandle(current)
  })

  /**
   * Appends `records` (`bytes` long) at `end`, and fsyncs them when `fsync` is set. On success, `onWritten` runs
   * at once, with `end` already past them: whatever it changes is consistent with the log for whoever looks next
   * (a compaction's snapshot). On failure the records are taken back out (now, or before the next write). Never
   * interrupted midway.
   */
  append(
    records: ReadonlyArray<Buffer>,
    bytes: number,
    fsync: boolean,
    onWritten: () => void
  ): Effect.Effect<void, PlatformError.PlatformError> {
    const write = Effect.gen(this, function*() {
      const file = this.file
      yield* file.seek(this.end, "start")
      for (const chunk of groupRecords(records)) yield* file.writeAll(chunk)
      if (fsync) yield* file.sync
      else this.dirty = true
      this.end += bytes
      onWritten()
    }).pipe(
      Effect.tapError(() =>
        Effect.suspend(() => {
          // the batch is not acknowledged: take its bytes back out of the log (or before the next write)
          this.needsTruncate = true
          return this.handle === undefined ? Effect.void : Effect.ignore(
            Effect.tap(this.handle.file.truncate(this.end), () => {
              this.needsTruncate = false
            })
          )
        })
      )
    )
    // first make sure the file is still the log this store wrote (it was not truncated, moved or replaced)
    return Effect.zipRight(this.verify, write).pipe(this.writeLock.withPermits(1), Effect.uninterruptible)
  }

  /**
   * Before each batch, under the write lock: checks that the open file is still the log this store wrote (its size
   * at every batch; the file at its path and its header at most once a second), and rewrites the log from memory if
   * not (see `core/fileIntegrity.ts`). Also takes back the bytes of a failed write.
   */
  private get verify(): Effect.Effect<void, PlatformError.PlatformError> {
    return Effect.gen(this, function*() {
      const file = this.file
      const info = yield* file.stat
      let size = Number(info.size)
      if (this.needsTruncate && size > this.end) {
        yield* file.truncate(this.end)
        size = this.end
      }
      this.needsTruncate = false
      let problem = Integrity.sizeMismatch(size, this.end)
      const now = Date.now()
      if (problem === undefined && Integrity.identityCheckDue(this.checkedAt, now)) {
        this.checkedAt = now
        const atPath = yield* this.fs.stat(this.paths.log).pipe(
          Effect.map(identityOf),
          Effect.catchIf((error) => isReason(error, "NotFound"), () => Effect.succeed(undefined))
        )
        problem = Integrity.identityMismatch(identityOf(info), atPath)
        if (problem === undefined) {
          const head = Buffer.alloc(Log.HEADER_SIZE)
          yield* file.seek(0, "start")
          const n = yield* readAll(file, head)
          problem = Integrity.headerMismatch(head.subarray(0, n), Log.encodeHeader(this.secret))
        }
      }
      if (problem === undefined) return
      yield* Effect.logError(Integrity.repairMessage(this.paths.log, problem)).pipe(
        Effect.annotateLogs({ path: this.paths.log, end: this.end, size })
      )
      yield* this.syncLock.withPermits(1)(this.repair)
    })
  }

  /** Fsyncs the log if records were written since the last fsync, or always with `force`. */
  sync(method: string, force: boolean): Effect.Effect<void, Store.SessionStoreError> {
    return Effect.suspend(() => {
      if (this.handle === undefined) return Effect.fail(closed(method))
      if (!force && !this.dirty) return Effect.void
      this.dirty = false
      return this.handle.file.sync.pipe(
        Effect.tapError(() =>
          Effect.sync(() => {
            this.dirty = true
          })
        ),
        Effect.mapError(ioError(method, "cannot fsync the log"))
      )
    }).pipe(this.syncLock.withPermits(1), Effect.uninterruptible)
  }

  /** Waits while a compaction is about to swap: the writer calls it before each batch. */
  get turn(): Effect.Effect<void> {
    return this.gate.await
  }

  /** Runs `effect` with the writer held off (and no fsync running), uninterruptibly. */
  exclusive<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.acquireUseRelease(
      Effect.sync(() => this.gate.unsafeClose()),
      () => effect.pipe(this.syncLock.withPermits(1), this.writeLock.withPermits(1), Effect.uninterruptible),
      () => Effect.sync(() => this.gate.unsafeOpen())
    )
  }

  /**
   * Makes `target`, `end` bytes long and renamed over the log, the log; closes the old file and fsyncs the folder.
   * Run inside `exclusive` (or before the writer runs).
   */
  swap(target: Handle, end: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const old = this.handle
      this.handle = target
      this.end = end
      this.generation++
      this.needsTruncate = false
      this.dirty = false
      this.checkedAt = Date.now()
      return Effect.zipRight(old === undefined ? Effect.void : closeHandle(old), this.syncFolder)
    })
  }
}
