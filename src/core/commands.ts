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

/** The answers, by command. @internal */
export type Answer = Entry | string | boolean | undefined

/** How many times a commit writes before it gives up with `CommitConflict`. @internal */
export const MAX_ATTEMPTS = 10

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
