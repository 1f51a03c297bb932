/**
 * The state of one request's session, without Effect: what the session holds, the synchronous change each
 * operation makes, and what the request changed (so that its commit can apply exactly those changes to the record
 * as it is in the store at commit time: see `commit.ts`). Both lines' `Session` wrap it in a thin Effect shell that
 * adds what needs Effect: the store, the clock, and the values' Schemas.
 *
 * It is made on every request, so it is a class with its methods on the prototype and no lock: once the session is
 * loaded, each operation changes the fields in one synchronous step after whatever it waits for (a value's
 * encoding), so concurrent fibers of a request never see half a change.
 *
 * @internal
 */
import * as Codec from "./codec.js"
import type * as Commit from "./commit.js"
import * as Token from "./token.js"

/** The session options the state needs, as plain numbers. @internal */
export interface SessionConfig {
  /** The absolute lifetime, milliseconds. */
  readonly lifetime: number
  /** The idle timeout, milliseconds; `undefined` for none. */
  readonly idleTimeout: number | undefined
  /**
   * With an idle timeout: the expiry is moved (a `touch`) only when it would move by at least this many
   * milliseconds, so a busy session costs one touch per interval, not one write per request.
   */
  readonly touchAfter: number
  /** How long, milliseconds, a renew's marker lets requests that loaded the old record merge into the new one. */
  readonly renewGrace: number
  /** Whether cookies carry `Max-Age`/`Expires` without `rememberMe`. */
  readonly persist: boolean
  /** Whether the store key is the token's SHA-256 rather than the token. */
  readonly hashTokenInStore: boolean
}

/** A store entry as the session reads it (`StoredEntry` with the expiry in epoch milliseconds). @internal */
export interface Entry {
  readonly data: Uint8Array
  readonly version: string
  readonly expiry: number
}

/** A live session record as loaded from the store. @internal */
export interface Base {
  /** Its store key. */
  readonly key: string
  readonly version: string
  /** The store's expiry of the entry, epoch milliseconds. */
  readonly expiry: number
  readonly deadline: number
  readonly rememberMe: boolean
  /** The values as `JSON.parse` made them: read with `Object.keys` and indexing only. */
  readonly values: Readonly<Record<string, unknown>>
  readonly user: string | undefined
  readonly info: Readonly<Record<string, string>> | undefined
  /** When the session was created (`undefined` in records of earlier releases). */
  readonly created: number | undefined
  /** When the session was last written. */
  readonly seen: number | undefined
}

/** What a store entry is to a session. @internal */
export type Reading =
  | { readonly _tag: "Live"; readonly base: Base }
  /** Nothing to use: no entry, or a session past its deadline. */
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Marker"; readonly to: string }
  | { readonly _tag: "Corrupt"; readonly reason: string }

const GONE: Reading = { _tag: "Gone" }

/** Reads the entry found under `key`. @internal */
export const read = (key: string, entry: Entry | undefined, now: number): Reading => {
  if (entry === undefined) return GONE
  const decoded = Codec.decode(entry.data)
  switch (decoded._tag) {
    case "Corrupt":
      return decoded
    case "Marker":
      return { _tag: "Marker", to: decoded.to }
    case "Index":
      // a user's index is not a session (its key is never a session's: see userIndex.ts)
      return GONE
    case "Ok": {
      const { created, deadline, info, rememberMe, seen, user, values } = decoded.record
      // the idle timeout is the store's expiry (it returns nothing after it); the deadline is the record's own
      if (deadline <= now) return GONE
      return {
        _tag: "Live",
        base: {
          key,
          version: entry.version,
          expiry: entry.expiry,
          deadline,
          rememberMe,
          values,
          user,
          info,
          created,
          seen
        }
      }
    }
  }
}

/** One key's change: set to an encoded value, or removed. @internal */
export type Change = { readonly set: true; readonly value: unknown } | { readonly set: false }

const REMOVED: Change = { set: false }

/** A session record to write. @internal */
export interface Record_ {
  readonly deadline: number
  readonly rememberMe: boolean
  readonly values: ReadonlyMap<string, unknown>
  readonly user: string | undefined
  readonly info: Readonly<Record<string, string>> | undefined
  readonly created: number | undefined
}

/** @internal */
export class SessionState {
  /**
   * Whether the stored session has been read. There is no lock around the read: fibers of one request that first
   * use the session concurrently each read the store, and the first read to finish wins (a later one finds
   * `loaded` set and changes nothing), so no change made after the first load is ever overwritten.
   */
  loaded = false
  /**
   * Whether reading the stored session failed in this request (the store failed, or its bytes are not a session).
   * The commit does not read it again: the failure has been reported once already.
   */
  loadFailed = false
  /** Whether a store failure of this request has been logged: a request logs its first one only. */
  private storeFailureLogged = false
  /** The stored session this request is using, as loaded; `undefined` for a new one (or after `destroy`). */
  base: Base | undefined = undefined
  /** The absolute deadline, epoch milliseconds (as the request sees it). */
  deadline = 0
  rememberMe = false
  /** The user the session is bound to, and what was attached with it (`setUser`). */
  user: string | undefined = undefined
  info: Readonly<Record<string, string>> | undefined = undefined
  /** When the session was created (`undefined` for a record of an earlier release). */
  created: number | undefined = undefined
  /** Key names to their Schema-encoded values, as the request sees them: the loaded values with its changes. */
  readonly values = new Map<string, unknown>()
  /** The keys this request set or removed, in the order of their last change. */
  readonly changes = new Map<string, Change>()
  /** Whether `clear` ran: the keys not in `changes` are removed at commit. */
  cleared = false
  /** The deadline this request set (`setDeadline`, or `renew`'s fresh one), if any. */
  deadlineSet: number | undefined = undefined
  /** The remember-me flag this request set, if any. */
  rememberMeSet: boolean | undefined = undefined
  /** Whether this request bound the session to a user (`setUser`). */
  userSet = false
  /** Whether this request renews the stored session (a new token at commit). */
  renewing = false
  /** The store key of a stored session this request destroyed: deleted at commit. */
  destroyKey: string | undefined = undefined
  /** The token of the session once committed under a new one (a new or renewed session). */
  committedToken: string | undefined = undefined
  status: Commit.Status = "unmodified"
  /** Whether the commit has started: from then on, changes fail (reads keep working). */
  closed = false
  /** The cookie's value when it has the shape of a token; anything else is never looked up. */
  readonly cookieToken: string | undefined
  /** Whether the request carried a session cookie at all (well-formed or not). */
  readonly hadCookie: boolean

  constructor(readonly config: SessionConfig, cookieValue: string | undefined) {
    this.cookieToken = Token.isWellFormed(cookieValue) ? cookieValue : undefined
    this.hadCookie = cookieValue !== undefined
  }

  /** The store key of `token`. */
  storeKey(token: string): string {
    return this.config.hashTokenInStore ? Token.hash(token) : token
  }

  private lookupKey: string | undefined | null = null

  /** The store key to read at first use; `undefined` when the request has no token (a new session). */
  get lookup(): string | undefined {
    // a digest when hashTokenInStore is on: computed once per request
    if (this.lookupKey === null) {
      this.lookupKey = this.cookieToken === undefined ? undefined : this.storeKey(this.cookieToken)
    }
    return this.lookupKey
  }

  /**
   * The token of the session the client holds and keeps: `undefined` for a new session, a destroyed one, and one
   * being renewed (it gets a new token at commit).
   */
  get token(): string | undefined {
    if (this.committedToken !== undefined) return this.committedToken
    return this.base === undefined || this.renewing ? undefined : this.cookieToken
  }

  /** The store key of the stored session in use (after a renew's commit, the new one); `undefined` for none. */
  get storeKeyInUse(): string | undefined {
    if (this.committedToken !== undefined) return this.storeKey(this.committedToken)
    return this.base === undefined || this.renewing ? undefined : this.base.key
  }

  /**
   * Adopts what the store answered for `lookup` (`undefined`: nothing, or no lookup at all). Returns why the bytes
   * are not a session (the state stays unloaded), or `undefined`. Once loaded, a later answer changes nothing. A
   * renew's marker is not a session: the old token of a renewed session finds nothing.
   */
  loadFrom(entry: Entry | undefined, now: number): string | undefined {
    if (this.loaded) return undefined
    const key = this.lookup
    const reading = key === undefined ? GONE : read(key, entry, now)
    if (reading._tag === "Corrupt") {
      this.loadFailed = true
      return reading.reason
    }
    if (reading._tag === "Live") {
      const { base } = reading
      this.base = base
      this.deadline = base.deadline
      this.rememberMe = base.rememberMe
      this.user = base.user
      this.info = base.info
      this.created = base.created
      for (const k of Object.keys(base.values)) this.values.set(k, base.values[k])
    } else {
      // an unknown token is never adopted: the session gets a fresh token at commit
      this.fresh(now)
    }
    this.loaded = true
    return undefined
  }

  /**
   * Records a store failure (`during` the load of the stored session, or another operation) and says whether it is
   * the request's first, the one to log: an outage logs one line per request, however often the request retries.
   */
  storeFailed(during: "load" | "other"): boolean {
    if (during === "load") this.loadFailed = true
    if (this.storeFailureLogged) return false
    this.storeFailureLogged = true
    return true
  }

  has(name: string): boolean {
    return this.values.has(name)
  }

  /** The encoded value of `name` (check `has` first: a value may be `undefined`). */
  value(name: string): unknown {
    return this.values.get(name)
  }

  keys(): Array<string> {
    return Array.from(this.values.keys()).sort()
  }

  set(name: string, encoded: unknown, now: number): void {
    this.touch(now)
    this.values.set(name, encoded)
    this.change(name, { set: true, value: encoded })
  }

  remove(name: string, now: number): void {
    if (this.values.has(name)) {
      this.touch(now)
      this.values.delete(name)
      this.change(name, REMOVED)
    }
  }

  /** Takes a value out to pop it: of two concurrent pops (decoding may suspend), only one gets it. */
  take(name: string): unknown {
    const encoded = this.values.get(name)
    this.values.delete(name)
    return encoded
  }

  /**
   * Ends a pop: a decoded value is gone for good (a change); one that did not decode (or whose pop was interrupted)
   * goes back, unless something was set in its place meanwhile.
   */
  popped(name: string, encoded: unknown, decoded: boolean, now: number): void {
    if (decoded) {
      this.touch(now)
      // a value set meanwhile (by another fiber of the request) stays
      if (!this.values.has(name)) this.change(name, REMOVED)
    } else if (!this.values.has(name)) this.values.set(name, encoded)
  }

  clear(now: number): void {
    if (this.values.size > 0) {
      this.touch(now)
      this.values.clear()
      this.changes.clear()
      this.cleared = true
    }
  }

  setRememberMe(remember: boolean, now: number): void {
    this.touch(now)
    this.rememberMe = remember
    this.rememberMeSet = remember
  }

  setDeadline(deadline: number, now: number): void {
    this.touch(now)
    this.deadline = deadline
    this.deadlineSet = deadline
  }

  /** Binds the session to `user` (moving it from another user), with `info` for a list of sessions. */
  setUser(user: string, info: Readonly<Record<string, string>> | undefined, now: number): void {
    this.touch(now)
    this.user = user
    this.info = info
    this.userSet = true
  }

  /** `renew`: a new token at commit and a fresh deadline; the data stays. */
  renew(now: number): void {
    this.touch(now)
    if (this.base !== undefined) this.renewing = true
    this.deadline = now + this.config.lifetime
    this.deadlineSet = this.deadline
  }

  /** `destroy`: the stored session is deleted at commit; a later change starts a fresh session. */
  destroy(): void {
    if (this.base !== undefined) this.destroyKey ??= this.base.key
    this.base = undefined
    this.status = "destroyed"
    this.values.clear()
    this.changes.clear()
    this.cleared = false
    this.deadlineSet = undefined
    this.rememberMeSet = undefined
    this.renewing = false
    this.rememberMe = false
    this.user = undefined
    this.info = undefined
    this.userSet = false
  }

  /** The record to write: as the request sees it (`onto` absent), or its changes applied to `onto`. */
  record(onto?: Base): Record_ {
    if (onto === undefined) return this
    const values = new Map<string, unknown>()
    if (!this.cleared) { for (const k of Object.keys(onto.values)) values.set(k, onto.values[k]) }
    for (const [k, change] of this.changes) {
      if (change.set) values.set(k, change.value)
      else values.delete(k)
    }
    return {
      deadline: this.deadlineSet ?? onto.deadline,
      rememberMe: this.rememberMeSet ?? onto.rememberMe,
      values,
      user: this.userSet ? this.user : onto.user,
      info: this.userSet ? this.info : onto.info,
      created: onto.created
    }
  }

  /** The session was saved under `token` (a new or renewed session) at commit. */
  committed(token: string): void {
    this.committedToken = token
  }

  /** Marks the session modified; after `destroy`, the next change starts a fresh session. */
  private touch(now: number): void {
    if (this.status === "destroyed") this.fresh(now)
    this.status = "modified"
  }

  private change(name: string, change: Change): void {
    // re-inserted, so that the map's order is the order of the last changes
    this.changes.delete(name)
    this.changes.set(name, change)
  }

  private fresh(now: number): void {
    this.base = undefined
    this.renewing = false
    this.created = now
    this.user = undefined
    this.info = undefined
    this.userSet = false
    this.deadline = now + this.config.lifetime
    this.deadlineSet = undefined
    this.rememberMe = false
    this.rememberMeSet = undefined
    this.values.clear()
    this.changes.clear()
    this.cleared = false
  }
}
