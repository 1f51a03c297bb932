/**
 * The commit: given a request's session at the end of the request, the store operations to run and the cookie to
 * send. It is a generator of store commands, without Effect: each line's `Session` runs the commands it yields
 * against its `SessionStore` and passes the answers back, so that the whole algorithm is written (and tested,
 * `test/core/commit.test.ts`) once.
 *
 * What it guarantees, for requests of one session that overlap:
 *
 * - **Per-key merge.** A request writes only what it changed (keys set or removed, `clear`, the deadline,
 *   remember-me), applied to the record as it is in the store at commit time. The first write expects the version
 *   the request loaded (no extra read in the common case); on a conflict it reads the record again, re-applies its
 *   changes and retries, at most `MAX_ATTEMPTS` times.
 * - **Logout sticks.** A session that is gone at commit (destroyed, revoked, expired) takes none of the request's
 *   changes, and the response sends no cookie at all (an expiring cookie could delete a newer one that a racing
 *   renew has just set).
 * - **Renew is safe.** The renewed record is saved under the new key first (only if absent); then the old record is
 *   replaced, only if it still holds what was merged, by a marker pointing to the new store key for
 *   `renewGrace`. A failure in between leaves the old session as it was, and the new record is removed (the
 *   runner deletes `orphan`). Requests that loaded the old record before the renew follow the marker to merge
 *   their changes, and their responses set no cookie (handing them the new token would give it to whoever holds
 *   the old one).
 * - **Idle extension is an expiry-only touch**, conditional on the version loaded, at most once per `touchAfter`.
 *
 * @internal
 */
import * as Codec from "./codec.js"
import { type Answer, backoff, type Command, CommitConflict, CommitCorrupt, MAX_ATTEMPTS } from "./commands.js"
import { type Base, type Entry, read, type Record_, type SessionState } from "./sessionState.js"
import * as Token from "./token.js"
import * as UserIndex from "./userIndex.js"

export { type Answer, type Command, CommitConflict, CommitCorrupt, MAX_ATTEMPTS } from "./commands.js"

/**
 * - `unmodified`: nothing to write (no `Set-Cookie`).
 * - `modified`: the session is saved and its cookie sent at commit.
 * - `destroyed`: the store entry is deleted and a deletion cookie is sent at commit.
 *
 * @internal
 */
export type Status = "unmodified" | "modified" | "destroyed"

/**
 * What the commit decided the response must carry.
 *
 * @internal
 */
export type CommitResult =
  | { readonly _tag: "Unchanged" }
  | {
    readonly _tag: "SetCookie"
    readonly token: string
    /** Whole seconds to expiry, rounded up; `undefined` for a browser-session cookie. */
    readonly maxAge: number | undefined
    readonly expires: Date | undefined
  }
  | { readonly _tag: "ExpireCookie" }

/** @internal */
export const UNCHANGED: CommitResult = { _tag: "Unchanged" }
const EXPIRE: CommitResult = { _tag: "ExpireCookie" }

/**
 * One commit's run: `orphan` is the store key of a renewed record written but not yet reachable (the runner
 * deletes it when the commit fails); `optional` says that the commit only extends an idle timeout (a failure is
 * logged and the response goes out without a cookie).
 *
 * @internal
 */
export class CommitRun {
  orphan: string | undefined = undefined
  readonly optional: boolean
  readonly steps: Generator<Command, CommitResult, Answer>
  /**
   * Whether the version the request loaded is likely gone (another commit of this process wrote the record since,
   * see `commitQueue.ts`): the update then reads the record first instead of trying a write that would fail. Set
   * before the first step.
   */
  stale = false

  constructor(readonly state: SessionState, readonly now: number, aborted = false) {
    this.optional = state.status === "unmodified"
    this.steps = aborted ? this.abort() : this.run()
  }

  /**
   * The store key whose commits must take turns (`CommitQueue`): the stored session a changed session writes back
   * (merged, or renewed away from). `undefined` for a commit that writes no existing record conditionally (a new
   * session, a destroy, an idle extension, an aborted request).
   */
  static turnKey(state: SessionState, aborted: boolean): string | undefined {
    return !aborted && state.status === "modified" ? state.base?.key : undefined
  }

  /** Whether, with an idle timeout, the commit of an unchanged session must load it first (to touch it). */
  static needsLoad(state: SessionState): boolean {
    return state.status === "unmodified" && state.config.idleTimeout !== undefined &&
      state.cookieToken !== undefined && !state.loaded && !state.loadFailed
  }

  /** A request whose client hung up commits only its `destroy` (a logout is never lost); nothing else. */
  private *abort(): Generator<Command, CommitResult, Answer> {
    yield* this.destroyStored()
    return UNCHANGED
  }

  private *run(): Generator<Command, CommitResult, Answer> {
    const state = this.state
    yield* this.destroyStored()
    switch (state.status) {
      case "destroyed":
        // Only expire a cookie the request carried. A request without one (such as a cross-site form POST, which
        // SameSite=Lax strips of the cookie) must not delete the browser's cookie: its response may still set
        // cookies, and an unconditional deletion would let any site log users out.
        return state.hadCookie ? EXPIRE : UNCHANGED
      case "unmodified":
        return yield* this.touch()
      case "modified":
        if (state.base === undefined) return yield* this.create()
        return state.renewing ? yield* this.renew(state.base) : yield* this.update(state.base)
    }
  }

  /** Deletes the stored session a `destroy` ended, and the session a racing renew moved it to. */
  private *destroyStored(): Generator<Command, void, Answer> {
    const key = this.state.destroyKey
    if (key === undefined) return
    const reading = read(key, (yield { _tag: "Load", key }) as Entry | undefined, this.now)
    if (reading._tag === "Marker") yield { _tag: "Delete", key: reading.to }
    yield { _tag: "Delete", key }
  }

  /** An unchanged session: with an idle timeout, move its expiry (only), at most once per `touchAfter`. */
  private *touch(): Generator<Command, CommitResult, Answer> {
    const { state, now } = this
    const base = state.base
    const idle = state.config.idleTimeout
    if (idle === undefined || base === undefined || state.cookieToken === undefined) return UNCHANGED
    const expiry = Math.min(base.deadline, now + idle)
    if (expiry <= now || expiry <= base.expiry || expiry - base.expiry < state.config.touchAfter) return UNCHANGED
    const touched = yield { _tag: "Touch", key: base.key, expiry, expected: base.version }
    if (touched !== true) return UNCHANGED
    // a browser-session cookie does not change; a persistent one gets its new lifetime
    return this.persistent(base) ? this.cookie(state.cookieToken, expiry) : UNCHANGED
  }

  /** A new session (or one started again after `destroy`, or under an unknown cookie): a new token. */
  private *create(): Generator<Command, CommitResult, Answer> {
    const { state, now } = this
    const record = state.record()
    const expiry = this.expiryOf(record)
    if (expiry <= now) return state.hadCookie ? EXPIRE : UNCHANGED
    const data = Codec.encode(encodable(record, now))
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const token = Token.generate()
      const key = state.storeKey(token)
      // a bound session is in its user's index before it exists (see userIndex.ts)
      if (record.user !== undefined) yield* UserIndex.add(record.user, key, record.deadline, now)
      // a taken key (never seen with 256 random bits) is a conflict: another token
      const version = yield { _tag: "SaveIf", key, data, expiry, expected: undefined }
      if (version !== undefined) {
        state.committed(token)
        return this.cookie(token, expiry, record.rememberMe)
      }
    }
    throw new CommitConflict()
  }

  /** A stored session the request changed: its changes, merged into the record as it is now. */
  private *update(loaded: Base, followed = false): Generator<Command, CommitResult, Answer> {
    const { state, now } = this
    let base = loaded
    let following = followed
    // whether `base` is a record read since the request loaded (then its changes are merged into it)
    let reread = followed
    if (state.userSet && state.user !== undefined) {
      yield* UserIndex.add(state.user, base.key, Math.max(state.deadline, base.deadline), now)
    }
    if (this.stale && !followed) {
      const next = yield* this.reread(base.key, following)
      if (next === undefined) return UNCHANGED
      ;({ base, following } = next)
      reread = true
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = reread ? state.record(base) : state.record()
      const expiry = this.expiryOf(record)
      if (expiry <= now) {
        // the deadline was moved into the past: the session ends
        yield { _tag: "Delete", key: base.key }
        return following || !state.hadCookie ? UNCHANGED : EXPIRE
      }
      const data = Codec.encode(encodable(record, now))
      const version = yield { _tag: "SaveIf", key: base.key, data, expiry, expected: base.version }
      if (version !== undefined) {
        return following ? UNCHANGED : this.cookie(state.cookieToken!, expiry, record.rememberMe)
      }
      if (attempt + 1 === MAX_ATTEMPTS) break
      yield backoff(attempt + 1)
      const next = yield* this.reread(base.key, following)
      if (next === undefined) return UNCHANGED
      ;({ base, following } = next)
      reread = true
    }
    throw new CommitConflict()
  }

  /** `renew`: the new record first (only if absent), then the old one replaced by a marker (only if unchanged). */
  private *renew(loaded: Base): Generator<Command, CommitResult, Answer> {
    const { state, now } = this
    const token = Token.generate()
    const key = state.storeKey(token)
    let base = loaded
    let written: string | undefined = undefined
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = attempt === 0 ? state.record() : state.record(base)
      const expiry = this.expiryOf(record)
      if (expiry <= now) {
        if (written !== undefined) yield { _tag: "Delete", key }
        this.orphan = undefined
        yield { _tag: "Delete", key: base.key }
        return state.hadCookie ? EXPIRE : UNCHANGED
      }
      const data = Codec.encode(encodable(record, now))
      this.orphan = key
      if (written === undefined && record.user !== undefined) {
        yield* UserIndex.add(record.user, key, record.deadline, now)
      }
      const version = yield { _tag: "SaveIf", key, data, expiry, expected: written }
      if (version === undefined) throw new CommitConflict()
      written = version as string
      const until = now + state.config.renewGrace
      const marker = Codec.encodeMarker(key, until)
      const swapped = yield { _tag: "SaveIf", key: base.key, data: marker, expiry: until, expected: base.version }
      if (swapped !== undefined) {
        this.orphan = undefined
        state.committed(token)
        return this.cookie(token, expiry, record.rememberMe)
      }
      if (attempt + 1 === MAX_ATTEMPTS) break
      yield backoff(attempt + 1)
      const reading = yield* this.reload(base.key)
      if (reading._tag !== "Live") {
        // destroyed, revoked or renewed by another request meanwhile: this renew does not happen
        yield { _tag: "Delete", key }
        this.orphan = undefined
        if (reading._tag !== "Marker") return UNCHANGED
        // renewed by another request: like any request that loaded the old record, merge into the renewed
        // session (within the grace window) without learning its token
        const moved = yield* this.reload(reading.to)
        return moved._tag === "Live" ? yield* this.update(moved.base, true) : UNCHANGED
      }
      base = reading.base
    }
    throw new CommitConflict()
  }

  /**
   * The record to merge into, read again from `key`: after a renew, the renewed one (followed once, and then
   * `following`: the response sets no cookie); `undefined` when the session is gone.
   */
  private *reread(
    key: string,
    following: boolean
  ): Generator<Command, { readonly base: Base; readonly following: boolean } | undefined, Answer> {
    const reading = yield* this.reload(key)
    if (reading._tag === "Marker") {
      // renewed since this request loaded it: merge into the renewed session, once, without learning its token
      if (following) return undefined
      const moved = yield* this.reload(reading.to)
      return moved._tag === "Live" ? { base: moved.base, following: true } : undefined
    }
    return reading._tag === "Live" ? { base: reading.base, following } : undefined
  }

  private *reload(key: string): Generator<Command, ReturnType<typeof read>, Answer> {
    const reading = read(key, (yield { _tag: "Load", key }) as Entry | undefined, this.now)
    if (reading._tag === "Corrupt") throw new CommitCorrupt(reading.reason)
    return reading
  }

  /** When a record expires: its deadline, or the idle timeout from now when that comes first. */
  private expiryOf(record: Record_): number {
    const idle = this.state.config.idleTimeout
    return idle === undefined ? record.deadline : Math.min(record.deadline, this.now + idle)
  }

  private persistent(record: { readonly rememberMe: boolean }): boolean {
    return this.state.config.persist || record.rememberMe
  }

  private cookie(token: string, expiry: number, rememberMe?: boolean): CommitResult {
    const persistent = rememberMe === undefined ? true : this.persistent({ rememberMe })
    return {
      _tag: "SetCookie",
      token,
      maxAge: persistent ? Math.ceil((expiry - this.now) / 1000) : undefined,
      expires: persistent ? new Date(expiry) : undefined
    }
  }
}

/** The codec's record written at `now`: `e` is written as the deadline (see `codec.ts`). */
const encodable = (record: Record_, now: number): Codec.SessionRecord => ({
  deadline: record.deadline,
  expiry: record.deadline,
  rememberMe: record.rememberMe,
  values: record.values,
  user: record.user,
  info: record.info,
  created: record.created,
  seen: now
})
