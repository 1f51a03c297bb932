/**
 * FileStore's one-writer rule: a lock file next to the log, `${path}.lock`, holding the owner's pid, host name
 * and a random nonce, one per line. The owner refreshes its modification time every 10 seconds (a heartbeat).
 *
 * - The lock is created atomically with its content: written to a private temporary file, then hard-linked to
 *   the lock path (`link` fails if the lock exists). Where hard links are not supported it falls back to an
 *   exclusive create (`wx`).
 * - A lock of this host whose process is gone (`process.kill(pid, 0)` reports `ESRCH`) is taken over. So is a lock
 *   carrying this process's own pid that this process does not hold: it was left by an earlier process that had
 *   the same pid (typical of containers, where the server is often pid 1).
 * - A lock of another host (a container recreated with a new host name, a second container on a shared volume,
 *   a network file system) cannot be checked by pid: it is taken over only once its heartbeat is more than
 *   60 seconds old.
 * - A lock held by a live process, or by another FileStore in this process, fails with a `Locked` error.
 * - Taking over renames the stale lock aside and checks that the renamed file is the one judged stale, so two
 *   processes racing for the same stale lock cannot both win.
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
import { SessionStoreError } from "../Store.js"

const heldKey = Symbol.for("effect-session/FileStore/heldLocks")

/** Lock paths held in this process, shared by every copy of this module that is loaded. */
const held: Set<string> = ((globalThis as any)[heldKey] ??= new Set<string>())

interface Owner {
  readonly pid: number
  readonly host: string
}

const parseOwner = (content: string): Owner | undefined => {
  const [pidLine, hostLine] = content.split("\n")
  const pid = Number(pidLine)
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined
  return { pid, host: hostLine ?? "" }
}

/** How often the owner refreshes the lock's modification time. @internal */
export const HEARTBEAT_MILLIS = 10_000

/** How old the heartbeat of another host's lock must be for the lock to be taken over. @internal */
export const FOREIGN_STALE_MILLIS = 60_000

type Liveness =
  | { readonly _tag: "Alive"; readonly why: string }
  | { readonly _tag: "Dead" }

const liveness = (owner: Owner, lockPath: string, modified: Date | undefined): Liveness => {
  if (owner.host !== "" && owner.host !== OS.hostname()) {
    // wall-clock time on purpose: it is compared with the file system's
    const age = modified === undefined ? 0 : Date.now() - modified.getTime()
    return age > FOREIGN_STALE_MILLIS ? { _tag: "Dead" } : {
      _tag: "Alive",
      why: `${lockPath} is held by process ${owner.pid} on host ${owner.host}, alive ${
        Math.max(0, Math.round(age / 1000))
      } s ago; if that host is gone, the lock is taken over once it is ${FOREIGN_STALE_MILLIS / 1000} s old`
    }
  }
  // the caller reserved the path in `held` before reading the lock, so a lock with our own pid is a leftover of an
  // earlier process that had the same pid
  if (owner.pid === process.pid) return { _tag: "Dead" }
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return { _tag: "Dead" }
  }
  return { _tag: "Alive", why: `${lockPath} is held by process ${owner.pid}` }
}

const isReason = (error: PlatformError.PlatformError, reason: string): boolean =>
  error._tag === "SystemError" && error.reason === reason

const io = (method: string, what: string) => (cause: PlatformError.PlatformError) =>
  new SessionStoreError({ reason: "Io", method, description: `${what}: ${cause.message}`, cause })

const locked = (method: string, description: string) => new SessionStoreError({ reason: "Locked", method, description })

/**
 * Creates `lockPath` with `content` if it does not exist. `true` when created, `false` when it already existed.
 */
const createExclusive = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  content: string,
  nonce: string,
  method: string
): Effect.Effect<boolean, SessionStoreError> => {
  const temporary = `${lockPath}.${nonce}.tmp`
  const viaExclusiveCreate = Effect.matchEffect(fs.writeFileString(lockPath, content, { flag: "wx" }), {
    onSuccess: () => Effect.succeed(true),
    onFailure: (error) => isReason(error, "AlreadyExists") ? Effect.succeed(false) : Effect.fail(error)
  })
  const viaLink = Effect.zipRight(
    fs.writeFileString(temporary, content, { flag: "wx" }),
    Effect.matchEffect(fs.link(temporary, lockPath), {
      onSuccess: () => Effect.succeed(true),
      onFailure: (error) =>
        isReason(error, "AlreadyExists")
          ? Effect.succeed(false)
          // no hard links here (some network and FUSE file systems): an exclusive create instead
          : viaExclusiveCreate
    })
  ).pipe(Effect.ensuring(Effect.ignore(fs.remove(temporary, { force: true }))))
  return Effect.mapError(viaLink, io(method, `cannot create the lock file ${lockPath}`))
}

/** The content of `file`, or `undefined` when it does not exist. */
const readIfExists = (
  fs: FileSystem.FileSystem,
  file: string,
  method: string
): Effect.Effect<string | undefined, SessionStoreError> =>
  fs.readFileString(file).pipe(
    Effect.catchIf((error) => isReason(error, "NotFound"), () => Effect.succeed(undefined)),
    Effect.mapError(io(method, `cannot read the lock file ${file}`))
  )

/**
 * Acquires the lock at `lockPath` for the current scope; closing the scope releases it (removes the file if it is
 * still ours).
 *
 * @internal
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  lockPath: string,
  method: string
): Effect.Effect<void, SessionStoreError, Scope.Scope> => {
  const nonce = Crypto.randomBytes(12).toString("hex")
  const content = `${process.pid}\n${OS.hostname()}\n${nonce}\n`

  const attempt = (tries: number, tookOverFrom?: number): Effect.Effect<void, SessionStoreError> =>
    Effect.gen(function*() {
      if (tries >= 8) return yield* Effect.fail(locked(method, `could not acquire ${lockPath} (contended)`))
      if (yield* createExclusive(fs, lockPath, content, nonce, method)) {
        if (tookOverFrom !== undefined) {
          yield* Effect.logWarning(`FileStore: took over the stale lock ${lockPath} left by process ${tookOverFrom}`)
        }
        return
      }
      const existing = yield* readIfExists(fs, lockPath, method)
      if (existing === undefined) return yield* attempt(tries + 1) // released meanwhile
      const owner = parseOwner(existing)
      if (owner === undefined) {
        return yield* Effect.fail(
          locked(method, `${lockPath} exists but is not a FileStore lock; delete it if no process uses the store`)
        )
      }
      const modified = yield* fs.stat(lockPath).pipe(
        Effect.map((info) => Option.getOrUndefined(info.mtime)),
        Effect.orElseSucceed(() => undefined)
      )
      const status = liveness(owner, lockPath, modified)
      if (status._tag === "Alive") return yield* Effect.fail(locked(method, status.why))
      // stale: move it aside, and make sure what we moved is the lock we judged stale
      const aside = `${lockPath}.stale-${nonce}`
      const moved = yield* Effect.matchEffect(fs.rename(lockPath, aside), {
        onSuccess: () => Effect.succeed(true),
        onFailure: (error) =>
          isReason(error, "NotFound")
            ? Effect.succeed(false)
            : Effect.fail(io(method, `cannot take over the stale lock ${lockPath}`)(error))
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
    Effect.catchAll((error) => Effect.logWarning(`FileStore: cannot refresh the lock file ${lockPath}`, error)),
    Effect.repeat(Schedule.spaced(HEARTBEAT_MILLIS)),
    Effect.delay(HEARTBEAT_MILLIS),
    Effect.interruptible,
    Effect.withClock(Clock.make())
  )

  return Effect.acquireRelease(
    Effect.flatMap(key, (key) => {
      if (held.has(key)) {
        return Effect.fail(locked(method, `${lockPath} is held by another FileStore in this process`))
      }
      held.add(key)
      return Effect.as(Effect.onError(attempt(0), () => Effect.sync(() => held.delete(key))), key)
    }),
    (key) => Effect.ensuring(release, Effect.sync(() => held.delete(key)))
  ).pipe(
    // forked after the lock is acquired: interrupted before it is released
    Effect.zipRight(Effect.forkScoped(heartbeat)),
    Effect.asVoid
  )
}
