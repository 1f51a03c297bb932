/**
 * A user's sessions (`Session.setUser`, `SessionManager.listUserSessions` / `revokeSession` /
 * `revokeUserSessions`), without Effect and without anything new in the store contract: each user has one index
 * entry in the same store, under a key no session can have (`u.` + base64url(SHA-256 of the user id): session
 * keys are 43 base64url characters), listing the store keys of the sessions bound to the user. Everything is a
 * generator of the same store commands as the commit (`commit.ts`), run by each line's `Session`.
 *
 * Cost grows with the user's own sessions, never with the store: listing reads the index and each of its
 * sessions; revoking deletes them. Every operation touches one key at a time (on a Redis Cluster the index and the
 * sessions live in different slots), so the index and the sessions are not changed atomically together; instead:
 *
 * - A key is added to the index (conditional write, retried on conflict) *before* the session is first written
 *   under it, so a bound session is always listed (revoke-all never misses one). A commit that fails after that
 *   leaves a member whose session does not exist: listing skips it and prunes it.
 * - A member whose session is gone (deleted, revoked, expired, renewed, or bound to another user since) is pruned
 *   when the index is read, once it was added more than `PRUNE_AFTER` ago: a younger one may belong to a commit
 *   still in flight, which writes the session right after.
 * - The index entry expires with the latest deadline of the sessions added to it.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as Codec from "./codec.js"
import { type Answer, backoff, type Command, CommitConflict, CommitCorrupt, MAX_ATTEMPTS } from "./commands.js"
import { type Base, type Entry, read } from "./sessionState.js"

/** Members younger than this (milliseconds) are kept even when their session is not there (yet). @internal */
export const PRUNE_AFTER = 60_000

/** When the index has this many members, adding one first drops the members whose sessions are gone. @internal */
export const COMPACT_AT = 32

/** The store key of `user`'s index. @internal */
export const indexKey = (user: string): string =>
  `u.${createHash("sha256").update("effect-session user\u0000").update(user).digest("base64url")}`

/** A session as a list of a user's sessions shows it. @internal */
export interface UserSession {
  readonly key: string
  readonly user: string
  readonly created: number | undefined
  readonly lastSeen: number | undefined
  readonly expires: number
  readonly info: Readonly<Record<string, string>> | undefined
}

/**
 * When a session was last seen: its last write, or, with an idle timeout, the last extension of its expiry (the
 * expiry minus the idle timeout), whichever is later. Exact to within `touchAfter`.
 *
 * @internal
 */
export const lastSeen = (base: Base, idleTimeout: number | undefined): number | undefined => {
  const extended = idleTimeout === undefined || base.expiry >= base.deadline ? undefined : base.expiry - idleTimeout
  if (extended === undefined) return base.seen
  return base.seen === undefined ? extended : Math.max(base.seen, extended)
}

/** @internal */
export const describe = (base: Base, idleTimeout: number | undefined): UserSession => ({
  key: base.key,
  user: base.user!,
  created: base.created,
  lastSeen: lastSeen(base, idleTimeout),
  expires: base.expiry,
  info: base.info
})

interface Index {
  readonly version: string | undefined
  readonly members: ReadonlyArray<readonly [string, number]>
  readonly expiry: number
}

const EMPTY: Index = { version: undefined, members: [], expiry: 0 }

function* loadIndex(key: string): Generator<Command, Index, Answer> {
  const entry = (yield { _tag: "Load", key }) as Entry | undefined
  if (entry === undefined) return EMPTY
  const decoded = Codec.decode(entry.data)
  if (decoded._tag !== "Index") {
    throw new CommitCorrupt(decoded._tag === "Corrupt" ? decoded.reason : "a user's index holds something else")
  }
  return { version: entry.version, members: decoded.index.members, expiry: entry.expiry }
}

/** Reads the session under `key`: live and bound to `user`, or not. */
function* sessionOf(key: string, user: string, now: number): Generator<Command, Base | undefined, Answer> {
  const reading = read(key, (yield { _tag: "Load", key }) as Entry | undefined, now)
  return reading._tag === "Live" && reading.base.user === user ? reading.base : undefined
}

/**
 * Adds `key` to `user`'s index (before the session is written under it), the index living at least until
 * `deadline`.
 *
 * @internal
 */
export function* add(user: string, key: string, deadline: number, now: number): Generator<Command, void, Answer> {
  const ikey = indexKey(user)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) yield backoff(attempt)
    const index = yield* loadIndex(ikey)
    if (index.members.some(([k]) => k === key) && index.expiry >= deadline) return
    let members = index.members.filter(([k]) => k !== key)
    if (members.length >= COMPACT_AT) {
      const kept: Array<readonly [string, number]> = []
      for (const member of members) {
        if (now - member[1] < PRUNE_AFTER || (yield* sessionOf(member[0], user, now)) !== undefined) kept.push(member)
      }
      members = kept
    }
    members = [...members, [key, now]]
    const expiry = Math.max(index.expiry, deadline)
    const written = yield {
      _tag: "SaveIf",
      key: ikey,
      data: Codec.encodeIndex({ members }, expiry),
      expiry,
      expected: index.version
    }
    if (written !== undefined) return
  }
  throw new CommitConflict()
}

/** Writes `index` back without `drop` (best effort: a conflict leaves it to the next reader). */
function* prune(ikey: string, index: Index, drop: ReadonlySet<string>): Generator<Command, void, Answer> {
  if (drop.size === 0 || index.version === undefined) return
  const members = index.members.filter(([k]) => !drop.has(k))
  if (members.length === 0) {
    // an empty index: removed only if still the one read (a login may have added to it meanwhile)
    yield { _tag: "SaveIf", key: ikey, data: Codec.encodeIndex({ members }, 0), expiry: 0, expected: index.version }
  } else {
    yield {
      _tag: "SaveIf",
      key: ikey,
      data: Codec.encodeIndex({ members }, index.expiry),
      expiry: index.expiry,
      expected: index.version
    }
  }
}

/** The live sessions bound to `user`, oldest first (by creation); prunes the index of the others. @internal */
export function* list(
  user: string,
  now: number,
  idleTimeout: number | undefined
): Generator<Command, Array<UserSession>, Answer> {
  const ikey = indexKey(user)
  const index = yield* loadIndex(ikey)
  const sessions: Array<UserSession> = []
  const drop = new Set<string>()
  for (const [key, added] of index.members) {
    const base = yield* sessionOf(key, user, now)
    if (base !== undefined) sessions.push(describe(base, idleTimeout))
    else if (now - added >= PRUNE_AFTER) drop.add(key)
  }
  yield* prune(ikey, index, drop)
  // oldest first by creation (a renewed or moved session keeps its creation time but is re-added at the end of the
  // index); records of older releases without one come first, in index order (the sort is stable)
  return sessions.sort((a, b) => (a.created ?? 0) - (b.created ?? 0))
}

/**
 * Ends the session under `key` (and, when it was just renewed, the session its marker points to); requests of it
 * already in flight cannot bring it back (their conditional writes find nothing). `false` when there was none.
 *
 * @internal
 */
export function* revoke(key: string, now: number): Generator<Command, boolean, Answer> {
  const reading = read(key, (yield { _tag: "Load", key }) as Entry | undefined, now)
  if (reading._tag === "Marker") yield { _tag: "Delete", key: reading.to }
  if (reading._tag === "Gone") return false
  yield { _tag: "Delete", key }
  return reading._tag === "Live" || reading._tag === "Marker"
}

/** Ends every session of `user` but `except`; how many it ended. @internal */
export function* revokeAll(
  user: string,
  except: string | undefined,
  now: number
): Generator<Command, number, Answer> {
  const ikey = indexKey(user)
  const index = yield* loadIndex(ikey)
  let revoked = 0
  const drop = new Set<string>()
  for (const [key, added] of index.members) {
    if (key === except) continue
    const reading = read(key, (yield { _tag: "Load", key }) as Entry | undefined, now)
    if (reading._tag === "Live" && reading.base.user === user) {
      yield { _tag: "Delete", key }
      revoked++
    } else if (reading._tag === "Marker") {
      // renewed moments ago: the renewed session is a member too, but end it here as well, if it is still this
      // user's (a member left from before the session moved to another user may have been renewed since: that
      // user's session, and its marker, are not ours to end)
      if (reading.to === except) {
        yield { _tag: "Delete", key }
      } else {
        const target = read(reading.to, (yield { _tag: "Load", key: reading.to }) as Entry | undefined, now)
        if (target._tag === "Live" && target.base.user === user) {
          yield { _tag: "Delete", key: reading.to }
          yield { _tag: "Delete", key }
          revoked++
        } else if (target._tag === "Gone") {
          yield { _tag: "Delete", key }
        }
      }
    }
    // a member added moments ago may be a login still committing: kept, so that a later revoke finds it
    if (now - added >= PRUNE_AFTER) drop.add(key)
  }
  yield* prune(ikey, index, drop)
  return revoked
}
