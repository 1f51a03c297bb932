/**
 * The state of one request's session, without Effect: what the session holds, the synchronous change each
 * operation makes, how a stored record is adopted, and what a commit writes. Both lines' `Session` wrap it in a thin
 * Effect shell that adds what needs Effect: the store, the clock, and the values' Schemas.
 *
 * It is made on every request, so it is a class with its methods on the prototype and no lock: once the session is
 * loaded, each operation changes the fields in one synchronous step after whatever it waits for (a value's
 * encoding, the store's delete for `renew` and `destroy`), so concurrent fibers of a request never see half a
 * change.
 *
 * @internal
 */
import * as Codec from "./codec.js"
import * as Commit from "./commit.js"
import * as Token from "./token.js"

/** The session options the state needs, as plain numbers. @internal */
export interface SessionConfig {
  /** The absolute lifetime, milliseconds. */
  readonly lifetime: number
  /** The idle timeout, milliseconds; `undefined` for none. */
  readonly idleTimeout: number | undefined
  /** Whether cookies carry `Max-Age`/`Expires` without `rememberMe`. */
  readonly persist: boolean
  /** Whether the store key is the token's SHA-256 rather than the token. */
  readonly hashTokenInStore: boolean
}

/** What a `Save` plan writes. @internal */
export interface Write {
  readonly token: string
  readonly key: string
  readonly bytes: Uint8Array
}

/** @internal */
export class SessionState implements Commit.CommitInput {
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
  /** The token of the stored session this request is using; `undefined` for a new, not yet saved one. */
  token: string | undefined = undefined
  /** The absolute deadline, epoch milliseconds. */
  deadline = 0
  rememberMe = false
  /** Key names to their Schema-encoded values. */
  readonly values = new Map<string, unknown>()
  status: Commit.Status = "unmodified"
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

  /** The store key to read at first use; `undefined` when the request has no token (a new session). */
  get lookup(): string | undefined {
    return this.cookieToken === undefined ? undefined : this.storeKey(this.cookieToken)
  }

  /**
   * Adopts what the store answered for `lookup` (`undefined`: nothing, or no lookup at all). Returns why the bytes
   * are not a session (the state stays unloaded), or `undefined`. Once loaded, a later answer changes nothing.
   */
  loadFrom(found: Uint8Array | undefined, now: number): string | undefined {
    if (this.loaded) return undefined
    if (found === undefined) {
      // an unknown token is never adopted: the session gets a fresh token at commit
      this.fresh(now)
    } else {
      const decoded = Codec.decode(found)
      if (decoded._tag === "Corrupt") {
        this.loadFailed = true
        return decoded.reason
      }
      const { deadline, expiry, rememberMe, values } = decoded.record
      if (deadline <= now || expiry <= now) {
        this.fresh(now)
      } else {
        this.token = this.cookieToken
        this.deadline = deadline
        this.rememberMe = rememberMe
        for (const k of Object.keys(values)) this.values.set(k, values[k])
      }
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
  }

  remove(name: string, now: number): void {
    if (this.values.has(name)) {
      this.touch(now)
      this.values.delete(name)
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
    if (decoded) this.touch(now)
    else if (!this.values.has(name)) this.values.set(name, encoded)
  }

  clear(now: number): void {
    if (this.values.size > 0) {
      this.touch(now)
      this.values.clear()
    }
  }

  setRememberMe(remember: boolean, now: number): void {
    this.touch(now)
    this.rememberMe = remember
  }

  setDeadline(deadline: number, now: number): void {
    this.touch(now)
    this.deadline = deadline
  }

  /** The stored `token` was deleted. */
  deleted(token: string): void {
    if (this.token === token) this.token = undefined
  }

  /** `renew`, once the old token is deleted: a new token at commit and a fresh deadline; the data stays. */
  renewed(now: number): void {
    this.status = "modified"
    this.deadline = now + this.config.lifetime
  }

  /** `destroy`, once the stored session is deleted. */
  destroyed(): void {
    this.status = "destroyed"
    this.values.clear()
    this.rememberMe = false
  }

  /** What the commit must do now. */
  plan(now: number): Commit.Plan {
    return Commit.decide(this, now)
  }

  /**
   * What a `Save` plan writes: its token (a new one for a new or renewed session), the store key and the record.
   * Throws `Codec.UnencodableValue` for a value JSON cannot hold.
   */
  write(plan: Extract<Commit.Plan, { _tag: "Save" }>): Write {
    const bytes = Codec.encode({
      deadline: this.deadline,
      expiry: plan.expiry,
      rememberMe: this.rememberMe,
      values: this.values
    })
    const token = plan.token ?? Token.generate()
    return { token, key: this.storeKey(token), bytes }
  }

  /** The session was saved under `token`. */
  committed(token: string): void {
    this.token = token
    this.status = "unmodified"
  }

  /** Marks the session modified; after `destroy`, the next change starts a fresh session. */
  private touch(now: number): void {
    if (this.status === "destroyed") this.fresh(now)
    this.status = "modified"
  }

  private fresh(now: number): void {
    this.token = undefined
    this.deadline = now + this.config.lifetime
    this.rememberMe = false
    this.values.clear()
  }
}
