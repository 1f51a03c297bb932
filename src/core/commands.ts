/**
 * The store commands that the session's generators (the commit in `commit.ts`, a user's sessions in
 * `userIndex.ts`) yield, and what they throw. Each line's `Session` runs the commands against its `SessionStore`.
 *
 * @internal
 */
import type { Entry } from "./sessionState.js"

/** A store operation the runner performs; its answer is passed back to the generator. @internal */
export type Command =
  /** Answer: the entry (`Entry`) or `undefined`. */
  | { readonly _tag: "Load"; readonly key: string }
  /** Answer: the new version (`string`), or `undefined` on a conflict. `expected` `undefined`: only if absent. */
  | {
    readonly _tag: "SaveIf"
    readonly key: string
    readonly data: Uint8Array
    readonly expiry: number
    readonly expected: string | undefined
  }
  /** Answer: whether it applied (`boolean`). */
  | { readonly _tag: "Touch"; readonly key: string; readonly expiry: number; readonly expected: string }
  /** Answer: nothing. */
  | { readonly _tag: "Delete"; readonly key: string }
  /**
   * Answer: nothing. Wait `millis` (on the wall clock) before trying again after a conflict, so that requests
   * that conflicted together do not retry in lockstep.
   */
  | { readonly _tag: "Backoff"; readonly millis: number }

/** The answers, by command. @internal */
export type Answer = Entry | string | boolean | undefined

/** How many times a commit writes before it gives up with `CommitConflict`. @internal */
export const MAX_ATTEMPTS = 12

/** The first retry waits up to this long; each later one up to twice as long, up to `BACKOFF_CAP`. @internal */
export const BACKOFF_BASE = 2

/** The longest wait between two attempts (so that a commit gives up within about a second). @internal */
export const BACKOFF_CAP = 100

/**
 * The wait before retry `attempt` (1 for the first retry): "full jitter", a uniformly random time up to
 * `min(BACKOFF_CAP, BACKOFF_BASE * 2^(attempt - 1))` milliseconds. Requests that lost the same conflict spread
 * out, so that a group of n writers needs about log2(n) retries each rather than n.
 *
 * @internal
 */
export const backoff = (attempt: number, random: () => number = Math.random): Command => ({
  _tag: "Backoff",
  millis: Math.floor(random() * Math.min(BACKOFF_CAP, BACKOFF_BASE * 2 ** Math.max(0, attempt - 1)))
})

/** Thrown by the generator when every attempt met a conflict. @internal */
export class CommitConflict extends Error {
  constructor() {
    super(`the session was changed by other requests during each of ${MAX_ATTEMPTS} attempts to save it`)
  }
}

/** Thrown by the generator when a record read again at commit is not a session. @internal */
export class CommitCorrupt extends Error {
  constructor(readonly reason: string) {
    super(`the stored session read again at commit is corrupt: ${reason}`)
  }
}
