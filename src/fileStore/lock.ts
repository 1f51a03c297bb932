/**
 * FileStore's one-writer rule on the file system: the lock file `${path}.lock` (its format and the staleness rules
 * are in `core/lockFile.ts`).
 *
 * - The lock is created atomically with its content: written to a private temporary file, then hard-linked to
 *   the lock path (`link` fails if the lock exists). Where hard links are not supported it falls back to an
 *   exclusive create (`wx`).
 * - A lock held by a live process, or by another FileStore in this process, fails with a `Locked` error.
 * - Taking over renames the stale lock aside and checks that the renamed file is the one judged stale, so two
 *   processes racing for the same stale lock cannot both win.
 * - The owner refreshes the lock's modification time every 10 seconds, on the wall clock.
 *
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as OS from "node:os"
import * as Path from "node:path"
import { FILE_MODE } from "../core/filePaths.js"
import * as Lock from "../core/lockFile.js"
import { SessionStoreError } from "../Store.js"
import { ioError, isReason } from "./errors.js"

const locked = (method: string, description: string) => new SessionStoreError({ reason: "Locked", method, description })

/** Creates `lockPath` with `content` if it does not exist: `true` when created, `false` when it already existed. */
const createExclusive = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  content: string,
  nonce: string,
  method: string
): Effect.Effect<boolean, SessionStoreError> => {
  const temporary = `${lockPath}.${nonce}.tmp`
  // readable and writable by the owner only, whatever the umask
  const createPrivate = (path: string) =>
    Effect.zipRight(fs.writeFileString(path, content, { flag: "wx", mode: FILE_MODE }), fs.chmod(path, FILE_MODE))
  const viaExclusiveCreate = Effect.matchEffect(createPrivate(lockPath), {
    onSuccess: () => Effect.succeed(true),
    onFailure: (error) => isReason(error, "AlreadyExists") ? Effect.succeed(false) : Effect.fail(error)
  })
  const viaLink = Effect.zipRight(
    createPrivate(temporary),
    Effect.matchEffect(fs.link(temporary, lockPath), {
      onSuccess: () => Effect.succeed(true),
      onFailure: (error) =>
        isReason(error, "AlreadyExists")
          ? Effect.succeed(false)
          // no hard links here (some network and FUSE file systems): an exclusive create instead
          : viaExclusiveCreate
    })
  ).pipe(Effect.ensuring(Effect.ignore(fs.remove(temporary, { force: true }))))
  return Effect.mapError(viaLink, ioError(method, `cannot create the lock file ${lockPath}`))
}

/** The content of `file`, or `undefined` when it does not exist. */
const readIfExists = (
  fs: FileSystem.FileSystem,
  file: string,
  method: string
): Effect.Effect<string | undefined, SessionStoreError> =>
  fs.readFileString(file).pipe(
    Effect.catchIf((error) => isReason(error, "NotFound"), () => Effect.succeed(undefined)),
    Effect.mapError(ioError(method, `cannot read the lock file ${file}`))
  )

/** The modification time of `file` in epoch milliseconds, if known. */
const modifiedAt = (fs: FileSystem.FileSystem, file: string): Effect.Effect<number | undefined> =>
  fs.stat(file).pipe(
    Effect.map((info) => Option.getOrUndefined(info.mtime)?.getTime()),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * Acquires the lock at `lockPath` for the current scope; closing the scope releases it (removes the file if it is
 * still ours) and stops the heartbeat.
 *
 * @internal
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  method: string,
  waitMillis = 0
): Effect.Effect<void, SessionStoreError, Scope.Scope> => {
  const nonce = Crypto.randomBytes(12).toString("hex")
  const content = Lock.formatLock(process.pid, OS.hostname(), nonce)

  const attempt = (tries: number, tookOverFrom?: number): Effect.Effect<void, SessionStoreError> =>
    Effect.gen(function*() {
      if (tries >= Lock.MAX_ATTEMPTS) {
        return yield* Effect.fail(locked(method, `could not acquire ${lockPath} (contended)`))
      }
      if (yield* createExclusive(fs, lockPath, content, nonce, method)) {
        if (tookOverFrom !== undefined) {
          yield* Effect.logWarning(`FileStore: took over the stale lock ${lockPath} left by process ${tookOverFrom}`)
        }
        return
      }
      const existing = yield* readIfExists(fs, lockPath, method)
      if (existing === undefined) return yield* attempt(tries + 1) // released meanwhile
      const owner = Lock.parseLock(existing)
      if (owner === undefined) {
        return yield* Effect.fail(
          locked(method, `${lockPath} exists but is not a FileStore lock; delete it if no process uses the store`)
        )
      }
      const status = Lock.judgeLock(owner, lockPath, yield* modifiedAt(fs, lockPath), Lock.here())
      if (status._tag === "Alive") return yield* Effect.fail(locked(method, status.why))
      // stale: move it aside, and make sure what we moved is the lock we judged stale
      const aside = `${lockPath}.stale-${nonce}`
      const moved = yield* Effect.matchEffect(fs.rename(lockPath, aside), {
        onSuccess: () => Effect.succeed(true),
        onFailure: (error) =>
          isReason(error, "NotFound")
            ? Effect.succeed(false)
            : Effect.fail(ioError(method, `cannot take over the stale lock ${lockPath}`)(error))
      })
      if (!moved) return yield* attempt(tries + 1)
      const movedContent = yield* readIfExists(fs, aside, method)
      if (movedContent !== existing) {
        // another process took the stale lock over between our read and our rename: give its lock back
        yield* Effect.ignore(fs.link(aside, lockPath))
        yield* Effect.ignore(fs.remove(aside, { force: true }))
        return yield* Effect.fail(locked(method, `${lockPath} was just taken by another process`))
      }
      yield* Effect.ignore(fs.remove(aside, { force: true }))
      return yield* attempt(tries + 1, owner.pid)
    })

  const release = Effect.gen(function*() {
    const current = yield* Effect.orElseSucceed(readIfExists(fs, lockPath, method), () => undefined)
    if (current === content) {
      yield* fs.remove(lockPath, { force: true }).pipe(
        Effect.catchAll((error) => Effect.logWarning(`FileStore: cannot remove the lock file ${lockPath}`, error))
      )
    }
  })

  // the key names the lock file whatever the spelling of its path (relative, through a symbolic link...)
  const resolved = Path.resolve(lockPath)
  const key = Effect.orElseSucceed(
    Effect.map(fs.realPath(Path.dirname(resolved)), (dir) => Path.join(dir, Path.basename(resolved))),
    () => resolved
  )

  // on the wall clock, not the Effect Clock: the heartbeat is compared with file modification times
  const heartbeat = Effect.suspend(() => {
    const now = new Date()
    return fs.utimes(lockPath, now, now)
  }).pipe(
    Effect.catchAll((error: PlatformError.PlatformError) =>
      Effect.logWarning(`FileStore: cannot refresh the lock file ${lockPath}`, error)
    ),
    Effect.repeat(Schedule.spaced(Lock.HEARTBEAT_MILLIS)),
    Effect.delay(Lock.HEARTBEAT_MILLIS),
    Effect.interruptible,
    Effect.withClock(Clock.make())
  )

  const takeOnce = Effect.flatMap(key, (key) => {
    if (Lock.heldLocks.has(key)) {
      return Effect.fail(locked(method, `${lockPath} is held by another FileStore in this process`))
    }
    Lock.heldLocks.add(key)
    return Effect.as(Effect.onError(attempt(0), () => Effect.sync(() => Lock.heldLocks.delete(key))), key)
  })
  // a lock held by a live owner is tried again every 100 ms until `waitMillis` have passed, on the wall clock (as
  // the heartbeat): the old process of a deploy releases it when it exits, whatever the Effect Clock says
  const take = waitMillis <= 0 ? takeOnce : Effect.suspend(() => {
    const deadline = Date.now() + waitMillis
    const loop: Effect.Effect<string, SessionStoreError> = Effect.catchIf(
      takeOnce,
      (error) => error.reason === "Locked",
      (error) => {
        const left = deadline - Date.now()
        if (left <= 0) {
          return Effect.fail(
            locked(method, `${error.description ?? lockPath} (waited ${waitMillis} ms for it to be released)`)
          )
        }
        return Effect.flatMap(
          Effect.sleep(Math.min(Lock.RETRY_MILLIS, left)).pipe(Effect.withClock(Clock.make())),
          () => loop
        )
      }
    )
    return loop
  })

  return Effect.acquireRelease(
    take,
    (key) => Effect.ensuring(release, Effect.sync(() => Lock.heldLocks.delete(key)))
  ).pipe(
    // forked after the lock is acquired: interrupted before it is released
    Effect.zipRight(Effect.forkScoped(heartbeat)),
    Effect.asVoid
  )
}
