/**
 * The session itself: a token, a deadline, and typed values, loaded lazily from the `SessionStore` and committed
 * once at the end of a request.
 *
 * This module is framework-agnostic: `SessionManager.begin` starts a session for a cookie value and `commit`
 * says which cookie to send. `HttpSession` wires it into `@effect/platform`'s HTTP server.
 *
 * @since 0.1.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Codec from "./core/codec.js"
import * as Token from "./core/token.js"
import * as Store from "./Store.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * Why a session operation failed.
 *
 * - `StoreUnavailable`: the `SessionStore` failed (unreachable, timeout, closed...). Unhandled, it answers 503.
 * - `Corrupt`: the bytes in the store are not a session this library wrote.
 * - `Decode`: a stored value does not match its key's schema (`key` names it).
 * - `Encode`: a value could not be encoded with its key's schema (`key` names it).
 * - `InvalidOptions`: the session options are invalid (reported when the layer is built).
 *
 * @since 0.1.0
 * @category errors
 */
export const SessionErrorReason = Schema.Literal("StoreUnavailable", "Corrupt", "Decode", "Encode", "InvalidOptions")

/**
 * @since 0.1.0
 * @category errors
 */
export type SessionErrorReason = typeof SessionErrorReason.Type

/**
 * The error of every session operation. It carries its `cause` for logs, but its encoded form (what an `HttpApi`
 * sends to clients) holds only the `reason` and the key name, and an unhandled one answers an empty 503 (store
 * failures) or 500 (anything else): no internals reach the client.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionError extends Schema.TaggedError<SessionError>("effect-session/SessionError")(
  "SessionError",
  {
    reason: SessionErrorReason,
    key: Schema.optional(Schema.String)
  },
  HttpApiSchema.annotations({ status: 503 })
) {
  constructor(
    props: {
      readonly reason: SessionErrorReason
      readonly key?: string | undefined
      readonly description?: string | undefined
      readonly cause?: unknown
    },
    disableValidation?: boolean
  ) {
    const { cause, description, ...fields } = props
    super(
      fields.key === undefined ? { reason: fields.reason } : { reason: fields.reason, key: fields.key },
      disableValidation
    )
    // kept out of the schema on purpose: never encoded into a response
    Object.defineProperty(this, "description", { value: description, enumerable: false })
    if (cause !== undefined) Object.defineProperty(this, "cause", { value: cause, enumerable: false })
  }

  /**
   * A human-readable detail, for logs only.
   *
   * @since 0.1.0
   */
  declare readonly description: string | undefined

  /**
   * @since 0.1.0
   */
  override get message(): string {
    const key = this.key === undefined ? "" : ` (key "${this.key}")`
    const detail = this.description === undefined ? "" : `: ${this.description}`
    return `Session: ${this.reason}${key}${detail}`
  }

  /**
   * @since 0.1.0
   */
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(HttpServerResponse.empty({ status: this.reason === "StoreUnavailable" ? 503 : 500 }))
  }
}

const storeError = (error: Store.SessionStoreError) =>
  new SessionError({ reason: "StoreUnavailable", description: error.message, cause: error })

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category options
 */
export interface CookieOptions {
  /** Default `"session"`. A `__Host-` name requires `secure`, `path: "/"` and no `domain`. */
  readonly name?: string | undefined
  readonly domain?: string | undefined
  /** Default `"/"`. */
  readonly path?: string | undefined
  /** Default `true`: scripts in the page cannot read the cookie. */
  readonly httpOnly?: boolean | undefined
  /** Default `true`: the cookie is only sent over HTTPS (browsers treat `localhost` as secure). */
  readonly secure?: boolean | undefined
  /** Default `"lax"`. */
  readonly sameSite?: "lax" | "strict" | "none" | undefined
  /** Default `false` (CHIPS). */
  readonly partitioned?: boolean | undefined
  /**
   * Default `true`: the cookie carries `Max-Age`/`Expires` and outlives the browser session. With `false`, it is
   * a browser-session cookie unless the session opted in with `Session.rememberMe(true)`.
   */
  readonly persist?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface SessionOptions {
  /** Absolute lifetime from creation (reset by `renew`). Default 24 hours. */
  readonly lifetime?: Duration.DurationInput | undefined
  /** The session ends after this long without a request. Default: no idle timeout. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  readonly cookie?: CookieOptions | undefined
  /**
   * Default `true`: the store key is base64url(SHA-256(token)), so a leaked store (a Redis dump, a copied log
   * file) holds no usable cookie value.
   */
  readonly hashTokenInStore?: boolean | undefined
}

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 * @category options
 */
export interface ResolvedSessionOptions {
  readonly lifetime: Duration.Duration
  readonly idleTimeout: Option.Option<Duration.Duration>
  readonly cookie: {
    readonly name: string
    readonly domain: string | undefined
    readonly path: string
    readonly httpOnly: boolean
    readonly secure: boolean
    readonly sameSite: "lax" | "strict" | "none"
    readonly partitioned: boolean
    readonly persist: boolean
  }
  readonly hashTokenInStore: boolean
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const invalidOptions = (description: string) => new SessionError({ reason: "InvalidOptions", description })

const positiveDuration = (name: string, input: Duration.DurationInput) =>
  Option.match(Duration.decodeUnknown(input), {
    onNone: () => Effect.fail(invalidOptions(`${name} is not a valid duration: ${String(input)}`)),
    onSome: (d) =>
      Duration.greaterThan(d, Duration.zero) && Duration.isFinite(d)
        ? Effect.succeed(d)
        : Effect.fail(invalidOptions(`${name} must be a positive, finite duration`))
  })

/**
 * Fills in the defaults and checks the options, failing with an `InvalidOptions` error that says what is wrong.
 *
 * @since 0.1.0
 * @category options
 */
export const resolveOptions = (options: SessionOptions = {}): Effect.Effect<ResolvedSessionOptions, SessionError> =>
  Effect.gen(function*() {
    const lifetime = yield* positiveDuration("lifetime", options.lifetime ?? "24 hours")
    const idleTimeout = options.idleTimeout === undefined
      ? Option.none()
      : Option.some(yield* positiveDuration("idleTimeout", options.idleTimeout))
    const c = options.cookie ?? {}
    const cookie = {
      name: c.name ?? "session",
      domain: c.domain,
      path: c.path ?? "/",
      httpOnly: c.httpOnly ?? true,
      secure: c.secure ?? true,
      sameSite: c.sameSite ?? "lax",
      partitioned: c.partitioned ?? false,
      persist: c.persist ?? true
    } as const
    if (!COOKIE_NAME.test(cookie.name)) {
      return yield* invalidOptions(`cookie.name ${JSON.stringify(cookie.name)} is not a valid cookie name`)
    }
    if (cookie.name.startsWith("__Host-")) {
      const problems = [
        cookie.secure ? undefined : "secure: true",
        cookie.path === "/" ? undefined : "path: \"/\"",
        cookie.domain === undefined ? undefined : "no domain"
      ].filter((p) => p !== undefined)
      if (problems.length > 0) {
        return yield* invalidOptions(
          `a cookie named "${cookie.name}" (prefix __Host-) requires ${problems.join(", ")}; browsers drop it otherwise`
        )
      }
    }
    if (cookie.name.startsWith("__Secure-") && !cookie.secure) {
      return yield* invalidOptions(`a cookie named "${cookie.name}" (prefix __Secure-) requires secure: true`)
    }
    if (cookie.sameSite === "none" && !cookie.secure) {
      return yield* invalidOptions("cookie.sameSite \"none\" requires secure: true; browsers drop it otherwise")
    }
    if (cookie.partitioned && !cookie.secure) {
      return yield* invalidOptions("cookie.partitioned requires secure: true")
    }
    return { lifetime, idleTimeout, cookie, hashTokenInStore: options.hashTokenInStore ?? true }
  })

// -----------------------------------------------------------------------------
// keys
// -----------------------------------------------------------------------------

/**
 * A typed session key: a name and the Schema its value is stored with. The schema's encoded form must be
 * JSON-compatible (strings, numbers, booleans, null, arrays, plain objects).
 *
 * @since 0.1.0
 * @category keys
 */
export interface SessionKey<A, I = A> {
  readonly name: string
  readonly schema: Schema.Schema<A, I>
  /** @internal */
  readonly decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
  /** @internal */
  readonly encode: (a: A) => Effect.Effect<I, ParseResult.ParseError>
}

/**
 * Declares a typed session key.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const UserId = Session.key("userId", Schema.String)
 * const Cart = Session.key("cart", Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int })))
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const key = <A, I>(name: string, schema: Schema.Schema<A, I>): SessionKey<A, I> => ({
  name,
  schema,
  decode: Schema.decodeUnknown(schema),
  encode: Schema.encode(schema)
})

// -----------------------------------------------------------------------------
// the session service
// -----------------------------------------------------------------------------

/**
 * - `unmodified`: nothing to write (no `Set-Cookie`).
 * - `modified`: the session is saved and its cookie sent at commit.
 * - `destroyed`: the store entry was deleted and a deletion cookie is sent at commit.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = "unmodified" | "modified" | "destroyed"

/**
 * The current request's session. Nothing is read from the store until an operation needs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionService {
  readonly get: <A, I>(key: SessionKey<A, I>) => Effect.Effect<Option.Option<A>, SessionError>
  readonly set: <A, I>(key: SessionKey<A, I>, value: A) => Effect.Effect<void, SessionError>
  readonly remove: (key: SessionKey<any, any>) => Effect.Effect<void, SessionError>
  readonly pop: <A, I>(key: SessionKey<A, I>) => Effect.Effect<Option.Option<A>, SessionError>
  readonly has: (key: SessionKey<any, any>) => Effect.Effect<boolean, SessionError>
  readonly keys: Effect.Effect<ReadonlyArray<string>, SessionError>
  readonly clear: Effect.Effect<void, SessionError>
  readonly renew: Effect.Effect<void, SessionError>
  readonly destroy: Effect.Effect<void, SessionError>
  readonly status: Effect.Effect<Status>
  readonly rememberMe: (remember: boolean) => Effect.Effect<void, SessionError>
  readonly deadline: Effect.Effect<DateTime.Utc, SessionError>
  readonly setDeadline: (deadline: DateTime.Utc) => Effect.Effect<void, SessionError>
  readonly token: Effect.Effect<Option.Option<string>, SessionError>
}

/**
 * The tag of the current request's session, provided by the `HttpSession` adapters.
 *
 * @since 0.1.0
 * @category tags
 */
export class Session extends Context.Tag("effect-session/Session")<Session, SessionService>() {}

/**
 * What the commit decided the response must carry.
 *
 * @since 0.1.0
 * @category models
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

/**
 * One request's session, as a handle: the `session` to provide to the handler, and `commit` to run before the
 * response is written.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionHandle {
  readonly session: SessionService
  readonly commit: Effect.Effect<CommitResult, SessionError>
}

/**
 * The configured session machinery: resolved options plus the store. `begin` starts a request's session from the
 * value of its cookie (or `undefined`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionManagerService {
  readonly options: ResolvedSessionOptions
  readonly begin: (cookieValue: string | undefined) => SessionHandle
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SessionManager extends Context.Tag("effect-session/SessionManager")<
  SessionManager,
  SessionManagerService
>() {}

/**
 * Creates a `SessionManager` over the provided `SessionStore`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeManager = (
  options?: SessionOptions
): Effect.Effect<SessionManagerService, SessionError, Store.SessionStore> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const store = yield* Store.SessionStore
    return SessionManager.of({
      options: resolved,
      begin: (cookieValue) =>
        new SessionState(
          resolved,
          store,
          Token.isWellFormed(cookieValue) ? cookieValue : undefined,
          cookieValue !== undefined
        )
    })
  })

/**
 * A layer providing the `SessionManager` that the `HttpSession` adapters need. Invalid options (such as a
 * `__Host-` cookie name with a `domain`) fail the layer with a message that says what to change.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { MemStore, Session } from "effect-session"
 *
 * const SessionLive = Session.layer({ lifetime: "12 hours", idleTimeout: "30 minutes" }).pipe(
 *   Layer.provide(MemStore.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: SessionOptions): Layer.Layer<SessionManager, SessionError, Store.SessionStore> =>
  Layer.effect(SessionManager, makeManager(options))

const noMs = Number.POSITIVE_INFINITY

/**
 * The `SessionService` of one request: its members are own properties (bound functions, and effects that read the
 * state when they run), so that the service can be destructured (`const { get, set } = yield* Session`) and spread
 * (`Session.of({ ...session, get: myGet })`) like any Effect service.
 */
class BoundSession implements SessionService {
  readonly get: SessionService["get"]
  readonly set: SessionService["set"]
  readonly remove: SessionService["remove"]
  readonly pop: SessionService["pop"]
  readonly has: SessionService["has"]
  readonly rememberMe: SessionService["rememberMe"]
  readonly setDeadline: SessionService["setDeadline"]
  readonly keys: SessionService["keys"]
  readonly clear: SessionService["clear"]
  readonly renew: SessionService["renew"]
  readonly destroy: SessionService["destroy"]
  readonly status: SessionService["status"]
  readonly deadline: SessionService["deadline"]
  readonly token: SessionService["token"]
  constructor(state: SessionState) {
    this.get = (key) => state.get(key)
    this.set = (key, value) => state.set(key, value)
    this.remove = (key) => state.remove(key)
    this.pop = (key) => state.pop(key)
    this.has = (key) => state.has(key)
    this.rememberMe = (remember) => state.rememberMe(remember)
    this.setDeadline = (deadline) => state.setDeadline(deadline)
    this.keys = state.keys
    this.clear = state.clear
    this.renew = state.renew
    this.destroy = state.destroy
    this.status = state.status
    this.deadline = state.deadline
    this.token = state.token
  }
}

/**
 * The state of one request's session. It is made on every request, so it is a class with its methods on the
 * prototype and no lock: once the session is loaded, each operation changes the fields in one synchronous step
 * after whatever it waits for (a value's encoding, the store's delete for `renew` and `destroy`), so concurrent
 * fibers of a request never see half a change (see `loaded` for concurrent first uses, `pop` for decoding).
 */
class SessionState implements SessionHandle {
  /**
   * Whether the stored session has been read. There is no lock around the read: fibers of one request that first
   * use the session concurrently each read the store, and the first read to finish wins (a later one finds
   * `loaded` set and changes nothing), so no change made after the first load is ever overwritten.
   */
  private loaded = false
  /** The token of the stored session this request is using; `undefined` for a new, not yet saved one. */
  private currentToken: string | undefined = undefined
  private deadlineMs = 0
  private remember = false
  private readonly values = new Map<string, unknown>()
  private state: Status = "unmodified"

  constructor(
    readonly options: ResolvedSessionOptions,
    readonly store: Store.SessionStoreService,
    /** The cookie's value when it has the shape of a token; anything else is never looked up. */
    readonly cookieToken: string | undefined,
    /** Whether the request carried a session cookie at all (well-formed or not). */
    readonly hadCookie: boolean
  ) {}

  private service: SessionService | undefined = undefined

  /** The service the handler sees (made once per request, on first use). */
  get session(): SessionService {
    return this.service ??= new BoundSession(this)
  }

  /** Runs `f` once the session is loaded. */
  private ready<A, E>(f: () => Effect.Effect<A, E>): Effect.Effect<A, E | SessionError> {
    return Effect.suspend(() => this.loaded ? f() : Effect.flatMap(this.load, f))
  }

  /** Runs `f` with the current time once the session is loaded. */
  private readyAt<A, E>(f: (now: number) => Effect.Effect<A, E>): Effect.Effect<A, E | SessionError> {
    return this.ready(() => Effect.flatMap(Clock.currentTimeMillis, f))
  }

  private getValue<A, I>(key: SessionKey<A, I>): Effect.Effect<Option.Option<A>, SessionError> {
    if (!this.values.has(key.name)) return Effect.succeedNone
    return this.decodeValue(key, this.values.get(key.name))
  }

  private decodeValue<A, I>(key: SessionKey<A, I>, encoded: unknown): Effect.Effect<Option.Option<A>, SessionError> {
    return Effect.mapBoth(key.decode(encoded), {
      onFailure: (cause) => new SessionError({ reason: "Decode", key: key.name, description: cause.message, cause }),
      onSuccess: Option.some
    })
  }

  get<A, I>(key: SessionKey<A, I>): Effect.Effect<Option.Option<A>, SessionError> {
    return this.ready(() => this.getValue(key))
  }

  set<A, I>(key: SessionKey<A, I>, value: A): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.mapBoth(key.encode(value), {
        onFailure: (cause) => new SessionError({ reason: "Encode", key: key.name, description: cause.message, cause }),
        onSuccess: (encoded) => {
          this.touch(now)
          this.values.set(key.name, encoded)
        }
      })
    )
  }

  remove(key: SessionKey<any, any>): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.sync(() => {
        if (this.values.has(key.name)) {
          this.touch(now)
          this.values.delete(key.name)
        }
      })
    )
  }

  pop<A, I>(key: SessionKey<A, I>): Effect.Effect<Option.Option<A>, SessionError> {
    return this.readyAt((now) => {
      if (!this.values.has(key.name)) return Effect.succeedNone
      // taken out before decoding (which may suspend): of two concurrent pops, only one gets the value
      const encoded = this.values.get(key.name)
      this.values.delete(key.name)
      return Effect.onExit(this.decodeValue(key, encoded), (exit) =>
        Effect.sync(() => {
          if (Exit.isSuccess(exit)) this.touch(now)
          // not decoded (or interrupted): the value stays, unless something was set in its place meanwhile
          else if (!this.values.has(key.name)) this.values.set(key.name, encoded)
        }))
    })
  }

  has(key: SessionKey<any, any>): Effect.Effect<boolean, SessionError> {
    return this.ready(() => Effect.sync(() => this.values.has(key.name)))
  }

  get keys(): Effect.Effect<ReadonlyArray<string>, SessionError> {
    return this.ready(() => Effect.sync(() => Array.from(this.values.keys()).sort()))
  }

  get clear(): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.sync(() => {
        if (this.values.size > 0) {
          this.touch(now)
          this.values.clear()
        }
      })
    )
  }

  get renew(): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.map(this.deleteCurrent, () => {
        this.state = "modified"
        this.deadlineMs = now + Duration.toMillis(this.options.lifetime)
      })
    )
  }

  get destroy(): Effect.Effect<void, SessionError> {
    return this.ready(() =>
      Effect.map(this.deleteCurrent, () => {
        this.state = "destroyed"
        this.values.clear()
        this.remember = false
      })
    )
  }

  get status(): Effect.Effect<Status> {
    return Effect.sync(() => this.state)
  }

  rememberMe(remember: boolean): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.sync(() => {
        this.touch(now)
        this.remember = remember
      })
    )
  }

  get deadline(): Effect.Effect<DateTime.Utc, SessionError> {
    return this.ready(() => Effect.sync(() => DateTime.unsafeMake(this.deadlineMs)))
  }

  setDeadline(deadline: DateTime.Utc): Effect.Effect<void, SessionError> {
    return this.readyAt((now) =>
      Effect.sync(() => {
        this.touch(now)
        this.deadlineMs = DateTime.toEpochMillis(deadline)
      })
    )
  }

  get token(): Effect.Effect<Option.Option<string>, SessionError> {
    return this.ready(() => Effect.sync(() => Option.fromNullable(this.currentToken)))
  }

  private storeKey(token: string): string {
    return this.options.hashTokenInStore ? Token.hash(token) : token
  }

  /** Marks the session modified; after `destroy`, the next change starts a fresh session. */
  private touch(now: number): void {
    if (this.state === "destroyed") this.fresh(now)
    this.state = "modified"
  }

  private fresh(now: number): void {
    this.currentToken = undefined
    this.deadlineMs = now + Duration.toMillis(this.options.lifetime)
    this.remember = false
    this.values.clear()
  }

  private get deleteCurrent(): Effect.Effect<void, SessionError> {
    const token = this.currentToken
    if (token === undefined) return Effect.void
    return this.store.delete(this.storeKey(token)).pipe(
      Effect.mapError(storeError),
      Effect.tapError(logStoreFailure),
      Effect.map(() => {
        this.currentToken = undefined
      })
    )
  }

  private get load(): Effect.Effect<void, SessionError> {
    if (this.loaded) return Effect.void
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const token = this.cookieToken
      if (token === undefined) {
        this.fresh(now)
        this.loaded = true
        return Effect.void
      }
      return this.store.find(this.storeKey(token)).pipe(
        Effect.mapError(storeError),
        Effect.tapError(logStoreFailure),
        Effect.flatMap((found) => {
          // a concurrent first use of the session loaded it meanwhile: keep what it has (and changed since)
          if (this.loaded) return Effect.void
          if (Option.isNone(found)) {
            // an unknown token is never adopted: the session gets a fresh token at commit
            this.fresh(now)
            this.loaded = true
            return Effect.void
          }
          const decoded = Codec.decode(found.value)
          if (decoded._tag === "Corrupt") {
            return Effect.fail(new SessionError({ reason: "Corrupt", description: decoded.reason }))
          }
          const { deadline, expiry, rememberMe, values } = decoded.record
          if (deadline <= now || expiry <= now) {
            this.fresh(now)
          } else {
            this.currentToken = token
            this.deadlineMs = deadline
            this.remember = rememberMe
            for (const k of Object.keys(values)) this.values.set(k, values[k])
          }
          this.loaded = true
          return Effect.void
        })
      )
    })
  }

  private cookieFor(token: string, expiry: number, now: number): CommitResult {
    const persistent = this.options.cookie.persist || this.remember
    return {
      _tag: "SetCookie",
      token,
      maxAge: persistent ? Math.ceil((expiry - now) / 1000) : undefined,
      expires: persistent ? new Date(expiry) : undefined
    }
  }

  private expiryAt(now: number): number {
    const idle = Option.match(this.options.idleTimeout, { onNone: () => noMs, onSome: Duration.toMillis })
    return Math.min(this.deadlineMs, now + idle)
  }

  get commit(): Effect.Effect<CommitResult, SessionError> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      switch (this.state) {
        case "destroyed":
          // Only expire a cookie the request carried. A request without one (such as a cross-site form POST,
          // which SameSite=Lax strips of the cookie) must not delete the browser's cookie: its response may
          // still set cookies, and an unconditional deletion would let any site log users out.
          return Effect.succeed<CommitResult>(this.hadCookie ? { _tag: "ExpireCookie" } : { _tag: "Unchanged" })
        case "modified": {
          const expiry = this.expiryAt(now)
          if (expiry <= now) {
            // the deadline was moved into the past: the session is over
            return Effect.as(
              this.deleteCurrent,
              this.hadCookie ? { _tag: "ExpireCookie" } as const : { _tag: "Unchanged" } as const
            )
          }
          const token = this.currentToken ?? Token.generate()
          return this.save(token, expiry).pipe(
            Effect.tapError(logStoreFailure),
            Effect.map(() => {
              this.currentToken = token
              this.state = "unmodified"
              return this.cookieFor(token, expiry, now)
            })
          )
        }
        case "unmodified":
          return Option.isSome(this.options.idleTimeout) && this.cookieToken !== undefined
            ? this.extendIdle(now)
            : Effect.succeed<CommitResult>({ _tag: "Unchanged" })
      }
    })
  }

  private save(token: string, expiry: number): Effect.Effect<void, SessionError> {
    let bytes: Uint8Array
    try {
      bytes = Codec.encode({ deadline: this.deadlineMs, expiry, rememberMe: this.remember, values: this.values })
    } catch (cause) {
      // a value whose Schema encoding JSON.stringify refuses (a bigint, a cycle)
      const key = cause instanceof Codec.UnencodableValue ? cause.key : undefined
      const description = cause instanceof Error ? cause.message : String(cause)
      return Effect.fail(new SessionError({ reason: "Encode", key, description, cause }))
    }
    return Effect.mapError(this.store.save(this.storeKey(token), bytes, DateTime.unsafeMake(expiry)), storeError)
  }

  /** With an idle timeout, a request carrying a live session's cookie pushes its expiry back. */
  private extendIdle(now: number): Effect.Effect<CommitResult> {
    return this.load.pipe(
      Effect.flatMap((): Effect.Effect<CommitResult, SessionError> => {
        const token = this.currentToken
        if (token === undefined) return Effect.succeed({ _tag: "Unchanged" })
        const expiry = this.expiryAt(now)
        return Effect.as(this.save(token, expiry), this.cookieFor(token, expiry, now))
      }),
      // the handler did not need the session: a failed extension must not fail its response
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("effect-session: could not extend the idle timeout of a session", error.message),
          { _tag: "Unchanged" } as const
        )
      )
    )
  }
}

const logStoreFailure = (error: SessionError) =>
  Effect.logError("effect-session: the session store failed", error.description ?? error.message)

// -----------------------------------------------------------------------------
// accessors
// -----------------------------------------------------------------------------

/**
 * The value of `key`, decoded with its schema; `None` when the session has no value for it.
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Session } from "effect-session"
 *
 * const Message = Session.key("message", Schema.String)
 *
 * const get = Effect.map(Session.get(Message), Option.getOrElse(() => ""))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const get = <A, I>(key: SessionKey<A, I>): Effect.Effect<Option.Option<A>, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.get(key))

/**
 * Sets `key` to `value` (encoded with the key's schema); the session is saved at commit.
 *
 * @since 0.1.0
 * @category accessors
 */
export const set = <A, I>(key: SessionKey<A, I>, value: A): Effect.Effect<void, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.set(key, value))

/**
 * Removes `key` from the session.
 *
 * @since 0.1.0
 * @category accessors
 */
export const remove = (key: SessionKey<any, any>): Effect.Effect<void, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.remove(key))

/**
 * Returns the value of `key` and removes it (a flash message).
 *
 * @since 0.1.0
 * @category accessors
 */
export const pop = <A, I>(key: SessionKey<A, I>): Effect.Effect<Option.Option<A>, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.pop(key))

/**
 * Whether the session holds a value for `key`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const has = (key: SessionKey<any, any>): Effect.Effect<boolean, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.has(key))

/**
 * The names of the keys the session holds, sorted.
 *
 * @since 0.1.0
 * @category accessors
 */
export const keys: Effect.Effect<ReadonlyArray<string>, SessionError, Session> = Effect.flatMap(
  Session,
  (s) => s.keys
)

/**
 * Removes every value; the token and deadline stay.
 *
 * @since 0.1.0
 * @category accessors
 */
export const clear: Effect.Effect<void, SessionError, Session> = Effect.flatMap(Session, (s) => s.clear)

/**
 * Gives the session a new token and a fresh deadline, keeping its data, and deletes the old token from the store.
 * Call it when privileges change (login, logout, role change) to defeat session fixation.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const renew: Effect.Effect<void, SessionError, Session> = Effect.flatMap(Session, (s) => s.renew)

/**
 * Deletes the session from the store and expires its cookie. A later `set` in the same request starts a fresh
 * session.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const destroy: Effect.Effect<void, SessionError, Session> = Effect.flatMap(Session, (s) => s.destroy)

/**
 * `unmodified`, `modified` or `destroyed`.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const status: Effect.Effect<Status, never, Session> = Effect.flatMap(Session, (s) => s.status)

/**
 * With `cookie.persist: false`, makes this session's cookie persistent (`true`) or a browser-session cookie
 * (`false`).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const rememberMe = (remember: boolean): Effect.Effect<void, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.rememberMe(remember))

/**
 * The absolute deadline of the session.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const deadline: Effect.Effect<DateTime.Utc, SessionError, Session> = Effect.flatMap(Session, (s) => s.deadline)

/**
 * Moves the absolute deadline; a deadline in the past ends the session at commit.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const setDeadline = (deadline: DateTime.Utc): Effect.Effect<void, SessionError, Session> =>
  Effect.flatMap(Session, (s) => s.setDeadline(deadline))

/**
 * The session's token: `None` for a session that has not been committed yet (a new one, or one just renewed).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const token: Effect.Effect<Option.Option<string>, SessionError, Session> = Effect.flatMap(
  Session,
  (s) => s.token
)
