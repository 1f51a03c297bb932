/**
 * What both lines' children of section 6 (a user's sessions, issue 15) share, without Effect: their input and
 * output, the other users' entries they fill the stores with, and the measuring loop.
 *
 * A store is filled with `others` sessions of other users, 5 per user, each user with its index entry, written with
 * the store's `save` as the session layer encodes them (`core/codec.ts` for the records, `core/userIndex.ts` for the
 * index's key and entry). The measured users' sessions are then bound through `SessionManager` (`begin`,
 * `Session.setUser`, `commit`: the real path). Every measured user is listed (`listUserSessions`) and then revoked
 * (`revokeUserSessions`) once, in a small and a big store alternately, each call timed on its own.
 */
import * as Codec from "../../src/core/codec.js"
import * as UserIndex from "../../src/core/userIndex.js"
import { makeToken, prng, sessionValues } from "./workload.js"

export type UsersEngine = "memory" | "file" | "redis"

/** Sessions per user, the measured ones and the others alike. */
export const SESSIONS_PER_USER = 5

export interface UsersStoreSpec {
  /** Sessions of other users in the store (a multiple of `SESSIONS_PER_USER`). */
  readonly others: number
  /** FileStore: the log. */
  readonly path?: string | undefined
  /** RedisStore: the server (each store its own redis-server). */
  readonly url?: string | undefined
  /** Whether to write the other users' entries (a Redis filled by the other line's child is not filled again). */
  readonly fill: boolean
}

export interface UsersInput {
  readonly engine: UsersEngine
  /** Names the measured users apart from the other line's (they may share a Redis). */
  readonly line: 3 | 4
  /** The small store and the big one. */
  readonly stores: readonly [UsersStoreSpec, UsersStoreSpec]
  /** Measured users (5 sessions each), after `warmupUsers` whose timings are dropped. */
  readonly users: number
  readonly warmupUsers: number
  /** Epoch milliseconds: the expiry of every session written. */
  readonly expiresAt: number
}

export interface StoreTimes {
  readonly others: number
  /** Entries written by the fill (sessions and index entries), and how long it took, ms (0 when not filled). */
  readonly filled: number
  readonly fillMs: number
  /** Milliseconds per call, one per measured user. */
  readonly list: ReadonlyArray<number>
  readonly revoke: ReadonlyArray<number>
}

export interface UsersOutput {
  readonly stores: ReadonlyArray<StoreTimes>
}

/** The redis prefix of the section (both lines' children use the same data). */
export const REDIS_PREFIX = "bench-users:"

/** What an application attaches at `setUser` (a user agent), on every session of the section. */
export const INFO: Readonly<Record<string, string>> = {
  agent: "Mozilla/5.0 (X11; Linux x86_64) AppleGecko/20100101 Firefox/130.0"
}

/**
 * The store entries of other user `u`: its 5 sessions (bound to it, as a commit after `setUser` writes them) and
 * its index entry listing them.
 */
export const otherUser = (
  u: number,
  now: number,
  expiresAt: number
): ReadonlyArray<readonly [key: string, data: Uint8Array]> => {
  const random = prng(0x5eed + u)
  const user = `other-user-${u}`
  const entries: Array<readonly [string, Uint8Array]> = []
  const members: Array<readonly [string, number]> = []
  for (let s = 0; s < SESSIONS_PER_USER; s++) {
    // a store key of the session layer's shape (43 base64url characters)
    const key = makeToken(random)
    members.push([key, now])
    entries.push([
      key,
      Codec.encode({
        deadline: expiresAt,
        expiry: expiresAt,
        rememberMe: false,
        values: new Map(Object.entries(sessionValues(u * SESSIONS_PER_USER + s))),
        user,
        info: INFO,
        created: now,
        seen: now
      })
    ])
  }
  entries.push([UserIndex.indexKey(user), Codec.encodeIndex({ members }, expiresAt)])
  return entries
}

/** The measured users of a line. */
export const measuredUser = (line: 3 | 4, i: number): string => `measured-user-effect${line}-${i}`

/** One line's operations on its two stores, as promises (each line's child wraps its `SessionManager`). */
export interface UserOps {
  /** How many live sessions `listUserSessions(user)` answered. */
  readonly list: (store: number, user: string) => Promise<number>
  /** How many sessions `revokeUserSessions(user)` ended. */
  readonly revoke: (store: number, user: string) => Promise<number>
}

/**
 * Lists, then revokes, every measured user in both stores, alternating which store goes first, and times each
 * call; checks that each call saw the user's 5 sessions, and that a list after the revoke finds none.
 */
export const measureUsers = async (
  input: UsersInput,
  ops: UserOps
): Promise<{ list: Array<Array<number>>; revoke: Array<Array<number>> }> => {
  const list: Array<Array<number>> = [[], []]
  const revoke: Array<Array<number>> = [[], []]
  const total = input.warmupUsers + input.users
  for (const [name, op, times] of [["list", ops.list, list], ["revoke", ops.revoke, revoke]] as const) {
    for (let i = 0; i < total; i++) {
      const user = measuredUser(input.line, i)
      for (const store of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const t0 = performance.now()
        const count = await op(store, user)
        const ms = performance.now() - t0
        if (count !== SESSIONS_PER_USER) {
          throw new Error(`${name}(${user}) in store ${store} answered ${count} sessions, not ${SESSIONS_PER_USER}`)
        }
        if (i >= input.warmupUsers) times[store]!.push(ms)
      }
    }
  }
  for (const store of [0, 1]) {
    const left = await ops.list(store, measuredUser(input.line, total - 1))
    if (left !== 0) throw new Error(`store ${store} still lists ${left} sessions after revokeUserSessions`)
  }
  return { list, revoke }
}
