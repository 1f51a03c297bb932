/**
 * FileStore's one-writer lock, the part that needs no I/O: the lock file's content, and whether the process that
 * wrote it still owns it. The shell (`fileStore/lock.ts` in each line) creates, reads, moves and refreshes the file.
 *
 * The lock file, `${path}.lock`, holds three lines:
 *
 * ```
 * <pid>\n<host name>\n<nonce>\n
 * ```
 *
 * The nonce (random, per store) tells two owners with the same pid and host apart. The owner refreshes the file's
 * modification time every `HEARTBEAT_MILLIS` (a heartbeat).
 *
 * - A lock of this host whose process is gone is stale. So is a lock carrying this process's own pid that this
 *   process does not hold (the caller reserves the path in `heldLocks` before it reads the lock): it was left by
 *   an earlier process that had the same pid (typical of containers, where the server is often pid 1).
 * - A lock of another host cannot be checked by pid: it is stale once its heartbeat is more than
 *   `FOREIGN_STALE_MILLIS` old.
 *
 * @internal
 */
import * as OS from "node:os"

/** How often the owner refreshes the lock's modification time. @internal */
export const HEARTBEAT_MILLIS = 10_000

/** How old the heartbeat of another host's lock must be for the lock to be taken over. @internal */
export const FOREIGN_STALE_MILLIS = 60_000

/** How many times acquiring tries again after the lock vanished or was taken over, before giving up. @internal */
export const MAX_ATTEMPTS = 8

const heldKey = Symbol.for("effect-session/FileStore/heldLocks")

/**
 * The lock paths held in this process (resolved, see the shell), shared by every copy of this module that is
 * loaded, and by both lines.
 *
 * @internal
 */
export const heldLocks: Set<string> = ((globalThis as any)[heldKey] ??= new Set<string>())

/** @internal */
export interface LockOwner {
  readonly pid: number
  /** `""` when the lock names no host (taken as this host). */
  readonly host: string
}

/** The content of a lock file. @internal */
export const formatLock = (pid: number, host: string, nonce: string): string => `${pid}\n${host}\n${nonce}\n`

/** The owner named by a lock file's content, or `undefined` when it is not a FileStore lock. @internal */
export const parseLock = (content: string): LockOwner | undefined => {
  const [pidLine, hostLine] = content.split("\n")
  const pid = Number(pidLine)
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined
  return { pid, host: hostLine ?? "" }
}

/** @internal */
export type Liveness =
  | { readonly _tag: "Alive"; readonly why: string }
  | { readonly _tag: "Stale" }

/** What the judgement of a lock depends on besides the lock. @internal */
export interface Here {
  readonly pid: number
  readonly host: string
  /** Wall-clock time, compared with the lock file's modification time. */
  readonly now: number
  /** Whether a process of this host with this pid exists. */
  readonly processExists: (pid: number) => boolean
}

/**
 * Whether the owner of the lock at `lockPath`, last refreshed at `modified` (epoch milliseconds; `undefined` when
 * unknown), still holds it.
 *
 * @internal
 */
export const judgeLock = (owner: LockOwner, lockPath: string, modified: number | undefined, here: Here): Liveness => {
  if (owner.host !== "" && owner.host !== here.host) {
    const age = modified === undefined ? 0 : here.now - modified
    return age > FOREIGN_STALE_MILLIS ? { _tag: "Stale" } : {
      _tag: "Alive",
      why: `${lockPath} is held by process ${owner.pid} on host ${owner.host}, alive ${
        Math.max(0, Math.round(age / 1000))
      } s ago; if that host is gone, the lock is taken over once it is ${FOREIGN_STALE_MILLIS / 1000} s old`
    }
  }
  if (owner.pid === here.pid) return { _tag: "Stale" }
  if (!here.processExists(owner.pid)) return { _tag: "Stale" }
  return { _tag: "Alive", why: `${lockPath} is held by process ${owner.pid}` }
}

/** Whether a process with this pid exists on this host (one we may not signal counts as existing). @internal */
export const processExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/** This process, now. @internal */
export const here = (): Here => ({ pid: process.pid, host: OS.hostname(), now: Date.now(), processExists })

/** How often a store waiting for a live owner's lock (`lockTimeout`) tries it again, in milliseconds. @internal */
export const RETRY_MILLIS = 100
