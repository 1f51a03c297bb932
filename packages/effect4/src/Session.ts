/**
 * The session itself: a token, a deadline, and typed values, loaded lazily from the `SessionStore` and committed
 * once at the end of a request.
 *
 * This module is framework-agnostic: `SessionManager.begin` starts a session for a cookie value and `commit`
 * says which cookie to send. `HttpSession` wires it into Effect's HTTP server (`effect/http`).
 *
 * @since 1.0.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Codec from "./core/codec.js"
import * as Commit from "./core/commit.js"
import { CommitQueue, type Turn, TURN_WAIT_MS } from "./core/commitQueue.js"
import * as Cookie from "./core/cookie.js"
import * as Errors from "./core/sessionError.js"
import { type Entry, read, type SessionConfig, SessionState } from "./core/sessionState.js"
import * as UserIndex from "./core/userIndex.js"
import { withNow } from "./internal/clock.js"
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
 * - `Conflict`: other requests of the session changed it during every attempt of the commit to save it (see
 *   "Concurrent requests" in the README). Unhandled, it answers 503.
 * - `Committed`: the session was changed after its commit had started (from a fiber that outlives the request, or
 *   a streaming body); the change is not saved. A warning is logged where it happens.
 *
 * @since 1.0.0
 * @category errors
 */
export const SessionErrorReason = Schema.Literals(Errors.REASONS)

/**
 * @since 1.0.0
 * @category errors
 */
export type SessionErrorReason = typeof SessionErrorReason.Type

/**
 * The error of every session operation. It carries its `cause` and a `description` for logs; its encoded form holds
 * only the `reason` and the key name. The `HttpSession` adapters (`HttpApiSession` included) answer one that the
 * handler leaves unhandled with an empty 503 (store failures) or 500 (anything else): no internals reach the client.
 *
 * @since 1.0.0
 * @category errors
 */
export class SessionError extends Schema.TaggedError<SessionError>("effect-session/SessionError")(
  "SessionError",
  {
    reason: SessionErrorReason,
    key: Schema.optional(Schema.String)
  }
) {
  constructor(
    props: {
      readonly reason: SessionErrorReason
      readonly key?: string | undefined
      readonly description?: string | undefined
      readonly cause?: unknown
    },
    options?: Schema.MakeOptions
  ) {
    const { cause, description, ...fields } = props
    super(
      fields.key === undefined ? { reason: fields.reason } : { reason: fields.reason, key: fields.key },
      options
    )
    // kept out of the schema on purpose: never encoded into a response
    Object.defineProperty(this, "description", { value: description, enumerable: false })
    if (cause !== undefined) Object.defineProperty(this, "cause", { value: cause, enumerable: false })
  }

  /**
   * A human-readable detail, for logs only.
   *
   * @since 1.0.0
   */
  declare readonly description: string | undefined

  /**
   * @since 1.0.0
   */
  override get message(): string {
    return Errors.message(this.reason, this.key, this.description)
  }
}

const storeError = (error: Store.SessionStoreError) =>
  new SessionError({ reason: "StoreUnavailable", description: error.message, cause: error })

const logStoreFailure = (error: SessionError) =>
  Effect.logError("effect-session: the session store failed", error.description ?? error.message)

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/**
 * @since 1.0.0
 * @category options
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named interface for the docs, not an alias
export interface CookieOptions extends Cookie.CookieOptions {}

/**
 * @since 1.0.0
 * @category options
 */
export interface SessionOptions {
  /** Absolute lifetime from creation (reset by `renew`). Default 24 hours. */
  readonly lifetime?: Duration.Input | undefined
  /** The session ends after this long without a request. Default: no idle timeout. */
  readonly idleTimeout?: Duration.Input | undefined
  /**
   * With `idleTimeout`: a request that does not change the session moves its expiry (an expiry-only `touch`, one
   * store write) only when the expiry would move by at least this much, so a busy session costs one write per
   * interval rather than one per request (connect-mongo's `touchAfter`). The idle timeout is then between
   * `idleTimeout - touchAfter` and `idleTimeout`. Default: a tenth of `idleTimeout`, at most 1 minute.
   */
  readonly touchAfter?: Duration.Input | undefined
  /**
   * How long after a `renew` a request that loaded the session under its old token before the renew may still
   * merge its changes into the renewed session (it never learns the new token). Default 5 seconds.
   */
  readonly renewGrace?: Duration.Input | undefined
  readonly cookie?: CookieOptions | undefined
  /**
   * Default `true`: the store key is base64url(SHA-256(token)), so a leaked store (a Redis dump, a copied log
   * file) holds no usable cookie value.
   */
  readonly hashTokenInStore?: boolean | undefined
  /**
   * Default `false`. `true`: the app runs behind a proxy that terminates TLS and sets `X-Forwarded-Proto`, and that
   * header is believed when `cookie.secure` is `"auto"`. Leave it `false` when clients can reach the app directly:
   * any client can send the header.
   */
  readonly trustProxy?: boolean | undefined
}

/**
 * The options with every default filled in.
 *
 * @since 1.0.0
 * @category options
 */
export interface ResolvedSessionOptions {
  readonly lifetime: Duration.Duration
  readonly idleTimeout: Option.Option<Duration.Duration>
  /** @since 1.0.0 */
  readonly touchAfter: Duration.Duration
  /** @since 1.0.0 */
  readonly renewGrace: Duration.Duration
  readonly cookie: Cookie.ResolvedCookie
  readonly hashTokenInStore: boolean
  readonly trustProxy: boolean
}

const invalidOptions = (description: string) => new SessionError({ reason: "InvalidOptions", description })

const positiveDuration = (name: string, input: Duration.Input, allowZero = false) =>
  Option.match(Duration.fromInput(input), {
    onNone: () => Effect.fail(invalidOptions(`${name} is not a valid duration: ${String(input)}`)),
    onSome: (d) =>
      (allowZero ? Duration.isGreaterThanOrEqualTo(d, Duration.zero) : Duration.isGreaterThan(d, Duration.zero)) &&
        Duration.isFinite(d)
        ? Effect.succeed(d)
        : Effect.fail(invalidOptions(`${name} must be a ${allowZero ? "non-negative" : "positive"}, finite duration`))
  })

/**
 * Fills in the defaults and checks the options, failing with an `InvalidOptions` error that says what is wrong.
 *
 * @since 1.0.0
 * @category options
 */
export const resolveOptions = (options: SessionOptions = {}): Effect.Effect<ResolvedSessionOptions, SessionError> =>
  Effect.gen(function*() {
    const lifetime = yield* positiveDuration("lifetime", options.lifetime ?? "24 hours")
    const idleTimeout = options.idleTimeout === undefined
      ? Option.none()
      : Option.some(yield* positiveDuration("idleTimeout", options.idleTimeout))
    const touchAfter = options.touchAfter === undefined
      ? Duration.millis(Option.match(idleTimeout, {
        onNone: () => 0,
        onSome: (idle) => Math.min(Math.floor(Duration.toMillis(idle) / 10), 60_000)
      }))
      : yield* positiveDuration("touchAfter", options.touchAfter, true)
    const renewGrace = yield* positiveDuration("renewGrace", options.renewGrace ?? "5 seconds", true)
    const cookie = Cookie.resolve(options.cookie)
    if (cookie._tag === "Invalid") return yield* invalidOptions(cookie.description)
    return {
      lifetime,
      idleTimeout,
      touchAfter,
      renewGrace,
      cookie: cookie.cookie,
      hashTokenInStore: options.hashTokenInStore ?? true,
      trustProxy: options.trustProxy ?? false
    }
  })

const toConfig = (options: ResolvedSessionOptions): SessionConfig => ({
  lifetime: Duration.toMillis(options.lifetime),
  idleTimeout: Option.match(options.idleTimeout, { onNone: () => undefined, onSome: Duration.toMillis }),
  touchAfter: Duration.toMillis(options.touchAfter),
  renewGrace: Duration.toMillis(options.renewGrace),
  persist: options.cookie.persist,
  hashTokenInStore: options.hashTokenInStore
})

// -----------------------------------------------------------------------------
// keys
// -----------------------------------------------------------------------------

/**
 * A typed session key: a name and the Schema its value is stored with. The schema's encoded form must be
 * JSON-compatible (strings, numbers, booleans, null, arrays, plain objects).
 *
 * @since 1.0.0
 * @category keys
 */
export interface SessionKey<A, I = A> {
  readonly name: string
  readonly schema: Schema.Codec<A, I>
  /** What `get` and `pop` do with a stored value the schema cannot decode (see `KeyOptions`). Absent: `"error"`. */
  readonly onDecodeError?: "error" | "absent" | undefined
}

/**
 * Options of `Session.key`.
 *
 * @since 1.0.0
 * @category keys
 */
export interface KeyOptions {
  /**
   * What `get` and `pop` do with a stored value that the key's schema cannot decode (a value stored before a deploy
   * changed the key's schema):
   *
   * - `"error"` (default): fail with a `SessionError` of reason `Decode` naming the key. Unhandled, the response is
   *   an empty 500 and the error is logged once.
   * - `"absent"`: read it as no value (`None`); `pop` removes it, and the next `set` replaces it.
   *
   * When a key's schema changes incompatibly, either give the key a new name (the old value is simply never read
   * again and leaves with the session), or keep the name and declare it with `onDecodeError: "absent"` so that
   * sessions written by the old version read as if the key were unset. A schema that can still decode the old form
   * (a `Schema.Union` of the old and new forms, transformed to the new) migrates the values instead.
   */
  readonly onDecodeError?: "error" | "absent" | undefined
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
 * // a cart stored by a release whose schema was different reads as no cart instead of failing
 * const LenientCart = Session.key("cart", Schema.Array(Schema.String), { onDecodeError: "absent" })
 * ```
 *
 * @since 1.0.0
 * @category keys
 */
export const key = <A, I>(name: string, schema: Schema.Codec<A, I>, options?: KeyOptions): SessionKey<A, I> => ({
  name,
  schema,
  onDecodeError: options?.onDecodeError ?? "error"
})

/** A key's decoder and encoder, made once per key object (a key written as a literal works too). */
interface KeyCodec<A, I> {
  readonly decode: (u: unknown) => Effect.Effect<A, Schema.SchemaError>
  readonly encode: (a: A) => Effect.Effect<I, Schema.SchemaError>
}

const keyCodecs = new WeakMap<SessionKey<any, any>, KeyCodec<any, any>>()

const keyCodec = <A, I>(key: SessionKey<A, I>): KeyCodec<A, I> => {
  let codec = keyCodecs.get(key)
  if (codec === undefined) {
    // Effect 4 schemas of non-JSON types (DateTimeUtc, Date, Option...) encode to the value itself: their canonical
    // JSON codec is what a session stores, so that every value `set` accepts can be read back (a `...FromString`
    // schema keeps its string form, as on the Effect 3 line)
    const json = Schema.toCodecJson(key.schema) as unknown as Schema.Codec<A, I>
    codec = { decode: Schema.decodeUnknownEffect(json), encode: Schema.encodeEffect(json) }
    keyCodecs.set(key, codec)
  }
  return codec
}

// -----------------------------------------------------------------------------
// the session service
// -----------------------------------------------------------------------------

/**
 * - `unmodified`: nothing to write (no `Set-Cookie`).
 * - `modified`: the session is saved and its cookie sent at commit.
 * - `destroyed`: the store entry was deleted and a deletion cookie is sent at commit.
 *
 * @since 1.0.0
 * @category models
 */
export type Status = Commit.Status

/**
 * The session's operations, as effects that require `R`: the `Session` service is `SessionOperations<never>`, and
 * this module's accessors (`Session.get`, ...) are `SessionOperations<Session>`.
 *
 * @since 1.0.0
 * @category models
 */
export interface SessionOperations<R> {
  readonly get: <A, I>(key: SessionKey<A, I>) => Effect.Effect<Option.Option<A>, SessionError, R>
  readonly set: <A, I>(key: SessionKey<A, I>, value: A) => Effect.Effect<void, SessionError, R>
  readonly remove: (key: SessionKey<any, any>) => Effect.Effect<void, SessionError, R>
  readonly pop: <A, I>(key: SessionKey<A, I>) => Effect.Effect<Option.Option<A>, SessionError, R>
  readonly has: (key: SessionKey<any, any>) => Effect.Effect<boolean, SessionError, R>
  readonly keys: Effect.Effect<ReadonlyArray<string>, SessionError, R>
  readonly clear: Effect.Effect<void, SessionError, R>
  readonly renew: Effect.Effect<void, SessionError, R>
  readonly destroy: Effect.Effect<void, SessionError, R>
  readonly status: Effect.Effect<Status, never, R>
  readonly rememberMe: (remember: boolean) => Effect.Effect<void, SessionError, R>
  readonly deadline: Effect.Effect<DateTime.Utc, SessionError, R>
  readonly setDeadline: (deadline: DateTime.Utc) => Effect.Effect<void, SessionError, R>
  readonly token: Effect.Effect<Option.Option<string>, SessionError, R>
  /** @since 1.0.0 */
  readonly setUser: (
    userId: string,
    info?: Readonly<Record<string, string>> | undefined
  ) => Effect.Effect<void, SessionError, R>
  /** @since 1.0.0 */
  readonly user: Effect.Effect<Option.Option<string>, SessionError, R>
  /** @since 1.0.0 */
  readonly storeKey: Effect.Effect<Option.Option<string>, SessionError, R>
}

/**
 * The current request's session. Nothing is read from the store until an operation needs it. Its members are own
 * properties, so it can be destructured (`const { get, set } = yield* Session`) and spread
 * (`{ ...session, get: myGet }`) like any Effect service.
 *
 * @since 1.0.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named interface for the docs, not an alias
export interface SessionService extends SessionOperations<never> {}

/**
 * The tag of the current request's session, provided by the `HttpSession` adapters.
 *
 * @since 1.0.0
 * @category tags
 */
export class Session extends Context.Service<Session, SessionService>()("effect-session/Session") {}

/**
 * What the commit decided the response must carry.
 *
 * @since 1.0.0
 * @category models
 */
export type CommitResult = Commit.CommitResult

/**
 * One request's session, as a handle: the `session` to provide to the handler, and `commit` to run before the
 * response is written.
 *
 * @since 1.0.0
 * @category models
 */
export interface SessionHandle {
  readonly session: SessionService
  readonly commit: Effect.Effect<CommitResult, SessionError>
  /**
   * What runs instead of `commit` when the client hung up before the response: only a `destroy` is carried out
   * (a logout is never lost); every other change is dropped, renew included (half a renew would either retire the
   * old token while the new one reaches nobody, or keep it after the handler meant to retire it).
   *
   * @since 1.0.0
   */
  readonly abort: Effect.Effect<void, SessionError>
}

/**
 * The configured session machinery: resolved options plus the store. `begin` starts a request's session from the
 * value of its cookie (or `undefined`).
 *
 * @since 1.0.0
 * @category models
 */
export interface SessionManagerService {
  readonly options: ResolvedSessionOptions
  readonly begin: (cookieValue: string | undefined) => SessionHandle
  /**
   * The live sessions bound to `userId` (`Session.setUser`), oldest first (by `createdAt`), read through the
   * user's index: the cost grows with the user's own sessions, not with the store.
   *
   * @since 1.0.0
   */
  readonly listUserSessions: (userId: string) => Effect.Effect<ReadonlyArray<UserSession>, SessionError>
  /**
   * Ends the session under the store key `key` (as `listUserSessions` and `Session.storeKey` give it): its next
   * request finds nothing, and a request of it already in flight cannot bring it back. `false` when there was none.
   *
   * @since 1.0.0
   */
  readonly revokeSession: (key: string) => Effect.Effect<boolean, SessionError>
  /**
   * Ends every session bound to `userId` but `except` (a store key: "sign out other devices" passes the current
   * session's `Session.storeKey`); how many it ended.
   *
   * @since 1.0.0
   */
  readonly revokeUserSessions: (
    userId: string,
    options?: { readonly except?: string | undefined } | undefined
  ) => Effect.Effect<number, SessionError>
  /**
   * The session under the store key `key`, decoded (values in their stored, Schema-encoded form), or `None`.
   *
   * @since 1.0.0
   */
  readonly loadSession: (key: string) => Effect.Effect<Option.Option<StoredSession>, SessionError>
  /**
   * Every live session of the store, by store key, decoded (renew markers and users' indexes skipped). It reads
   * the whole store: for one user's sessions use `listUserSessions`.
   *
   * @since 1.0.0
   */
  readonly sessions: Stream.Stream<StoredSession, SessionError>
}

/**
 * A session in a list of a user's sessions. Never the token: `key` is the store key.
 *
 * @since 1.0.0
 * @category models
 */
export interface UserSession {
  readonly key: string
  readonly userId: string
  /** `None` for a session created by a release before 0.2. */
  readonly createdAt: Option.Option<DateTime.Utc>
  /**
   * Its last write, or with an idle timeout its last extension, whichever is later (exact to within
   * `touchAfter`: it is never written per request).
   */
  readonly lastSeenAt: Option.Option<DateTime.Utc>
  readonly expiresAt: DateTime.Utc
  /** What the application attached with `Session.setUser`. */
  readonly info: Option.Option<Readonly<Record<string, string>>>
}

/**
 * A session read outside a request, by store key.
 *
 * @since 1.0.0
 * @category models
 */
export interface StoredSession {
  readonly key: string
  readonly userId: Option.Option<string>
  readonly createdAt: Option.Option<DateTime.Utc>
  readonly deadline: DateTime.Utc
  readonly rememberMe: boolean
  /** The values in their stored (Schema-encoded, JSON) form: decode one with its key's schema. */
  readonly values: Readonly<Record<string, unknown>>
}

/**
 * @since 1.0.0
 * @category tags
 */
export class SessionManager extends Context.Service<SessionManager, SessionManagerService>()(
  "effect-session/SessionManager"
) {}

/**
 * Creates a `SessionManager` over the provided `SessionStore`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const makeManager = (
  options?: SessionOptions
): Effect.Effect<SessionManagerService, SessionError, Store.SessionStore> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const store = yield* Store.SessionStore
    const config = toConfig(resolved)
    const turns = new CommitQueue()
    const run = <A>(steps: (now: number) => Generator<Commit.Command, A, Commit.Answer>) =>
      Effect.uninterruptible(Effect.flatMap(Clock.currentTimeMillis, (now) =>
        drive(store, steps(now), undefined, (error) =>
          Effect.fail(storeError(error)))))
    const toUserSession = (session: UserIndex.UserSession): UserSession => ({
      key: session.key,
      userId: session.user,
      createdAt: Option.map(Option.fromNullishOr(session.created), DateTime.makeUnsafe),
      lastSeenAt: Option.map(Option.fromNullishOr(session.lastSeen), DateTime.makeUnsafe),
      expiresAt: DateTime.makeUnsafe(session.expires),
      info: Option.fromNullishOr(session.info)
    })
    return SessionManager.of({
      options: resolved,
      begin: (cookieValue) =>
        new RequestSession(new SessionState(config, cookieValue), store, turns),
      listUserSessions: (userId) =>
        Effect.map(run((now) => UserIndex.list(userId, now, config.idleTimeout)), (list) => list.map(toUserSession)),
      revokeSession: (key) => run((now) => UserIndex.revoke(key, now)),
      revokeUserSessions: (userId, options) => run((now) => UserIndex.revokeAll(userId, options?.except, now)),
      loadSession: (key) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            Effect.mapError(store.load(key), storeError),
            (found) => Effect.succeed(Option.flatMap(found, (entry) => storedSession(key, toEntry(entry), now)))
          )),
      sessions: Stream.unwrap(Effect.map(Clock.currentTimeMillis, (now) =>
        store.all.pipe(
          Stream.mapError(storeError),
          Stream.map(([key, data]) => storedSession(key, { data, version: "", expiry: Infinity }, now)),
          Stream.filter(Option.isSome),
          Stream.map((session) => session.value)
        )))
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
 * @since 1.0.0
 * @category layers
 */
export const layer = (options?: SessionOptions): Layer.Layer<SessionManager, SessionError, Store.SessionStore> =>
  Layer.effect(SessionManager, makeManager(options))

/**
 * `layer`, with its options read from `Config`. Nested options (`cookie`) take a record of configs, or one
 * config for the whole object.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { Session } from "effect-session"
 *
 * const SessionLive = Session.layerConfig({
 *   lifetime: Config.Duration("SESSION_LIFETIME").pipe(Config.withDefault("12 hours")),
 *   idleTimeout: Config.Duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault("30 minutes")),
 *   cookie: {
 *     name: Config.String("SESSION_COOKIE").pipe(Config.withDefault("session")),
 *     secure: Config.Boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true))
 *   }
 * })
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Wrap<SessionOptions>
): Layer.Layer<SessionManager, Config.ConfigError | SessionError, Store.SessionStore> =>
  Layer.effect(SessionManager, Effect.flatMap(Config.unwrap(config), makeManager))

// -----------------------------------------------------------------------------
// one request's session: the Effect shell around the core `SessionState`
// -----------------------------------------------------------------------------

/** The store, the clock and the values' Schemas around one request's `SessionState`. */
class RequestSession implements SessionHandle {
  constructor(
    readonly state: SessionState,
    readonly store: Store.SessionStoreService,
    private readonly turns: CommitQueue
  ) {}

  /** The commit queue's mark when the session was loaded (see `CommitQueue.now`). */
  private since = 0

  private service: SessionService | undefined = undefined

  /** The service the handler sees (made once per request, on first use). */
  get session(): SessionService {
    return this.service ??= bind(this)
  }

  /** Runs `f` once the session is loaded. */
  ready<A, E>(f: () => Effect.Effect<A, E>): Effect.Effect<A, E | SessionError> {
    return Effect.suspend(() => this.state.loaded ? f() : Effect.flatMap(this.load, f))
  }

  /** Runs `f` with the current time once the session is loaded. */
  readyAt<A, E>(f: (now: number) => Effect.Effect<A, E>): Effect.Effect<A, E | SessionError> {
    return this.ready(() => withNow(f))
  }

  decode<A, I>(key: SessionKey<A, I>, encoded: unknown): Effect.Effect<Option.Option<A>, SessionError> {
    return Effect.matchEffect(keyCodec(key).decode(encoded), {
      onFailure: (cause) =>
        key.onDecodeError === "absent"
          ? Effect.succeedNone
          : Effect.fail(new SessionError({ reason: "Decode", key: key.name, description: cause.message, cause })),
      onSuccess: Effect.succeedSome
    })
  }

  /** Encodes `value` with the key's schema and hands the encoded form to `f` (one continuation for both). */
  encode<A, I, B>(
    key: SessionKey<A, I>,
    value: A,
    f: (encoded: I) => Effect.Effect<B, SessionError>
  ): Effect.Effect<B, SessionError> {
    return Effect.matchEffect(keyCodec(key).encode(value), {
      onFailure: (cause) =>
        Effect.fail(new SessionError({ reason: "Encode", key: key.name, description: cause.message, cause })),
      onSuccess: f
    })
  }

  /**
   * A store operation: its failure becomes a `StoreUnavailable` error, logged when it is the request's first (so an
   * outage logs one line per request; see `SessionState.storeFailed`).
   */
  storeOp<A>(during: "load" | "other", op: Effect.Effect<A, Store.SessionStoreError>): Effect.Effect<A, SessionError> {
    return Effect.catch(op, (cause) => this.storeFailure(during, cause))
  }

  /** `storeOp`'s answer to a failure of the store. */
  private storeFailure(during: "load" | "other", cause: Store.SessionStoreError): Effect.Effect<never, SessionError> {
    const error = storeError(cause)
    return this.state.storeFailed(during)
      ? Effect.andThen(logStoreFailure(error), Effect.fail(error))
      : Effect.fail(error)
  }

  /** A change to the session: refused once the commit has started (the change could not be saved). */
  change<A>(f: (now: number) => Effect.Effect<A, SessionError>): Effect.Effect<A, SessionError> {
    return Effect.suspend(() => {
      if (this.state.closed) return afterCommit
      return this.state.loaded ? withNow(f) : Effect.flatMap(this.load, () => withNow(f))
    })
  }

  private get load(): Effect.Effect<void, SessionError> {
    return withNow((now) => {
      const lookup = this.state.lookup
      if (lookup === undefined) {
        this.state.loadFrom(undefined, now)
        return Effect.void
      }
      this.since = this.turns.now
      // one continuation for the store's answer, failed or not
      return Effect.matchEffect(this.store.load(lookup), {
        onFailure: (cause) => this.storeFailure("load", cause),
        onSuccess: (found) => {
          const corrupt = this.state.loadFrom(Option.isSome(found) ? toEntry(found.value) : undefined, now)
          return corrupt === undefined
            ? Effect.void
            : Effect.fail(new SessionError({ reason: "Corrupt", description: corrupt }))
        }
      })
    })
  }

  get commit(): Effect.Effect<CommitResult, SessionError> {
    return this.finish(false)
  }

  get abort(): Effect.Effect<void, SessionError> {
    return Effect.asVoid(this.finish(true))
  }

  private finish(aborted: boolean): Effect.Effect<CommitResult, SessionError> {
    return Effect.suspend(() => {
      const state = this.state
      state.closed = true
      // the common case: a request that changed nothing, without an idle timeout, does no store I/O
      if (state.status === "unmodified" && state.destroyKey === undefined && state.config.idleTimeout === undefined) {
        return Effect.succeed(Commit.UNCHANGED)
      }
      const commit = (turn: Turn | undefined) =>
        withNow((now) => {
          const commitRun = new Commit.CommitRun(state, now, aborted)
          commitRun.stale = turn !== undefined && turn.stale
          const steps = drive(
            this.store,
            commitRun.steps,
            undefined,
            (error) => this.storeOp("other", Effect.fail(error)),
            () => commitRun.orphan === undefined ? Effect.void : Effect.ignore(this.store.delete(commitRun.orphan))
          )
          return commitRun.optional ? optional(steps) : steps
        })
      // commits of one session in this process write its record in turn (see core/commitQueue.ts)
      const key = Commit.CommitRun.turnKey(state, aborted)
      const run = key === undefined ? commit(undefined) : inTurn(this.turns, key, this.since, commit)
      return Effect.uninterruptible(
        !aborted && Commit.CommitRun.needsLoad(state) ? Effect.andThen(optional(this.load), run) : run
      )
    })
  }
}

/** A live session's record, for the admin operations; markers, indexes and corrupt entries are none. */
const storedSession = (key: string, entry: Entry, now: number): Option.Option<StoredSession> => {
  const reading = read(key, entry, now)
  if (reading._tag !== "Live") return Option.none()
  const { base } = reading
  return Option.some({
    key,
    userId: Option.fromNullishOr(base.user),
    createdAt: Option.map(Option.fromNullishOr(base.created), DateTime.makeUnsafe),
    deadline: DateTime.makeUnsafe(base.deadline),
    rememberMe: base.rememberMe,
    values: base.values
  })
}

/**
 * Runs a generator of store commands against `store`, passing each answer back, until it returns; a store failure
 * goes to `onStoreError`, anything the generator throws becomes a `SessionError`. `cleanup` runs before a failure
 * is returned (a commit deletes there the renewed record it wrote but never made reachable). One continuation per
 * command: this is the path of every request that changes its session.
 */
const drive = <A>(
  store: Store.SessionStoreService,
  steps: Generator<Commit.Command, A, Commit.Answer>,
  answer: Commit.Answer,
  onStoreError: (error: Store.SessionStoreError) => Effect.Effect<never, SessionError>,
  cleanup?: () => Effect.Effect<void>
): Effect.Effect<A, SessionError> => {
  let step: IteratorResult<Commit.Command, A>
  try {
    step = steps.next(answer)
  } catch (cause) {
    const error = Effect.fail(commitError(cause))
    return cleanup === undefined ? error : Effect.andThen(cleanup(), error)
  }
  if (step.done) return Effect.succeed(step.value)
  const command = step.value
  return Effect.matchEffect(execute(store, command), {
    onFailure: (error) => cleanup === undefined ? onStoreError(error) : Effect.andThen(cleanup(), onStoreError(error)),
    onSuccess: (result) => drive(store, steps, answerOf(command, result), onStoreError, cleanup)
  })
}

/** What the store answers to `command`, as `execute` gives it (turned into the generator's answer by `answerOf`). */
const execute = (
  store: Store.SessionStoreService,
  command: Commit.Command
): Effect.Effect<unknown, Store.SessionStoreError> => {
  switch (command._tag) {
    case "Load":
      return store.load(command.key)
    case "SaveIf":
      return store.saveIf(
        command.key,
        command.data,
        DateTime.makeUnsafe(command.expiry),
        command.expected === undefined ? Option.none() : Option.some(command.expected)
      )
    case "Touch":
      return store.touch(command.key, DateTime.makeUnsafe(command.expiry), command.expected)
    case "Delete":
      return store.delete(command.key)
    case "Backoff":
      return wallClockSleep(command.millis)
  }
}

/** The generator's answer to `command`, from what `execute` gave. */
const answerOf = (command: Commit.Command, result: unknown): Commit.Answer => {
  switch (command._tag) {
    case "Load": {
      const found = result as Option.Option<Store.StoredEntry>
      return Option.isSome(found) ? toEntry(found.value) : undefined
    }
    case "SaveIf":
      return Option.getOrUndefined(result as Option.Option<string>)
    case "Touch":
      return result as boolean
    case "Delete":
    case "Backoff":
      return undefined
  }
}

/**
 * Waits `millis` on the wall clock: the backoff between two attempts of a commit that met a conflict. Not the
 * `Clock` service, so a `TestClock` (which only moves when told) cannot hold a commit forever.
 */
const wallClockSleep = (millis: number): Effect.Effect<undefined> =>
  millis <= 0 ? Effect.succeed(undefined) : Effect.callback<undefined>((resume) => {
    const timer = setTimeout(() => resume(Effect.succeed(undefined)), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Runs `f` in its turn on `key` (released when it ends, however it ends), or without one when the turn does not
 * come within `TURN_WAIT_MS` (a commit ahead is stuck on a stalled store): the conditional writes decide then.
 * Commits run uninterruptibly, so a turn handed over is always taken and released.
 */
const inTurn = <A, E>(
  queue: CommitQueue,
  key: string,
  since: number,
  f: (turn: Turn | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const turn = queue.tryTake(key, since)
    if (turn !== undefined) return Effect.ensuring(f(turn), Effect.sync(() => queue.release(turn)))
    return Effect.flatMap(
      waitTurn(queue, key, since),
      (turn) => turn === undefined ? f(undefined) : Effect.ensuring(f(turn), Effect.sync(() => queue.release(turn)))
    )
  })

const waitTurn = (queue: CommitQueue, key: string, since: number): Effect.Effect<Turn | undefined> =>
  Effect.callback<Turn | undefined>((resume) => {
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined = undefined
    const cancel = queue.wait(key, since, (turn) => {
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      resume(Effect.succeed(turn))
    })
    if (!settled) {
      timer = setTimeout(() => {
        settled = true
        cancel()
        resume(Effect.succeed(undefined))
      }, TURN_WAIT_MS)
    }
  })

const toEntry = (entry: Store.StoredEntry): Entry => ({
  data: entry.data,
  version: entry.version,
  expiry: DateTime.toEpochMillis(entry.expiry)
})

/** What the commit's generator threw, as a `SessionError`. */
const commitError = (cause: unknown): SessionError => {
  if (cause instanceof Codec.UnencodableValue) {
    // a value whose Schema encoding JSON.stringify refuses (a bigint, a cycle)
    return new SessionError({ reason: "Encode", key: cause.key, description: cause.message, cause })
  }
  if (cause instanceof Commit.CommitConflict) {
    return new SessionError({ reason: "Conflict", description: cause.message, cause })
  }
  if (cause instanceof Commit.CommitCorrupt) {
    return new SessionError({ reason: "Corrupt", description: cause.message, cause })
  }
  return new SessionError({ reason: "Corrupt", description: String(cause), cause })
}

/**
 * The commit work of a session the handler did not change (an idle-timeout extension): a failure must not fail its
 * response. It is logged once (a store failure already was, by `storeOp`).
 */
const optional = <A>(effect: Effect.Effect<A, SessionError>): Effect.Effect<A | CommitResult> =>
  Effect.catch(effect, (error) =>
    Effect.as(
      // a store failure was logged where it happened: one line per failed request
      Errors.loggedWhereItHappened(error.reason)
        ? Effect.void
        : Effect.logWarning("effect-session: could not extend the idle timeout of a session", error.message),
      Commit.UNCHANGED
    ))

/** A change made once the commit has started: refused, with a warning (it would be lost). */
const afterCommit: Effect.Effect<never, SessionError> = Effect.suspend(() => {
  const error = new SessionError({
    reason: "Committed",
    description:
      "the session was changed after its commit had started (the response is decided): the change is not saved"
  })
  return Effect.andThen(
    Effect.logWarning("effect-session: a session was changed after its commit", error.message),
    Effect.fail(error)
  )
})

// Each operation once: what it does to one request's session. The `Session` service of a request and this module's
// accessors are both generated from these two tables.

type FunctionName = {
  [K in keyof SessionService]: SessionService[K] extends (...args: ReadonlyArray<any>) => any ? K : never
}[keyof SessionService]
type EffectName = Exclude<keyof SessionService, FunctionName>

const functions: { readonly [K in FunctionName]: (s: RequestSession) => SessionService[K] } = {
  get: (s) => (key) =>
    s.ready(() => s.state.has(key.name) ? s.decode(key, s.state.value(key.name)) : Effect.succeedNone),
  set: (s) => (key, value) =>
    s.change((now) =>
      s.encode(key, value, (encoded) => {
        // the commit may have started while the value was being encoded
        if (s.state.closed) return afterCommit
        s.state.set(key.name, encoded, now)
        return Effect.void
      })
    ),
  remove: (s) => (key) => s.change((now) => Effect.sync(() => s.state.remove(key.name, now))),
  pop: (s) => (key) =>
    s.change((now) => {
      if (!s.state.has(key.name)) return Effect.succeedNone
      const encoded = s.state.take(key.name)
      return Effect.onExit(
        s.decode(key, encoded),
        (exit) => Effect.sync(() => s.state.popped(key.name, encoded, Exit.isSuccess(exit), now))
      )
    }),
  has: (s) => (key) => s.ready(() => Effect.sync(() => s.state.has(key.name))),
  rememberMe: (s) => (remember) => s.change((now) => Effect.sync(() => s.state.setRememberMe(remember, now))),
  setUser: (s) => (userId, info) => s.change((now) => Effect.sync(() => s.state.setUser(userId, info, now))),
  setDeadline: (s) => (deadline) =>
    s.change((now) => Effect.sync(() => s.state.setDeadline(DateTime.toEpochMillis(deadline), now)))
}

const effects: { readonly [K in EffectName]: (s: RequestSession) => SessionService[K] } = {
  keys: (s) => s.ready(() => Effect.sync(() => s.state.keys())),
  clear: (s) => s.change((now) => Effect.sync(() => s.state.clear(now))),
  renew: (s) => s.change((now) => Effect.sync(() => s.state.renew(now))),
  destroy: (s) => s.change(() => Effect.sync(() => s.state.destroy())),
  status: (s) => Effect.sync(() => s.state.status),
  deadline: (s) => s.ready(() => Effect.sync(() => DateTime.makeUnsafe(s.state.deadline))),
  token: (s) => s.ready(() => Effect.sync(() => Option.fromNullishOr(s.state.token))),
  user: (s) => s.ready(() => Effect.sync(() => Option.fromNullishOr(s.state.user))),
  storeKey: (s) => s.ready(() => Effect.sync(() => Option.fromNullishOr(s.state.storeKeyInUse)))
}

const functionNames = Object.keys(functions) as ReadonlyArray<FunctionName>
const effectNames = Object.keys(effects) as ReadonlyArray<EffectName>

/** The `Session` service of one request: every operation as an own property (bound functions, and effects). */
const bind = (s: RequestSession): SessionService => {
  const service: Record<string, unknown> = {}
  for (const name of functionNames) service[name] = functions[name](s)
  for (const name of effectNames) service[name] = effects[name](s)
  return service as unknown as SessionService
}

const accessors = ((): SessionOperations<Session> => {
  const out: Record<string, unknown> = {}
  for (const name of functionNames) {
    out[name] = (...args: Array<any>) => Effect.flatMap(Session, (s) => (s[name] as (...a: Array<any>) => any)(...args))
  }
  for (const name of effectNames) out[name] = Effect.flatMap(Session, (s) => s[name])
  return out as unknown as SessionOperations<Session>
})()

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
 * @since 1.0.0
 * @category accessors
 */
export const get = accessors.get

/**
 * Sets `key` to `value` (encoded with the key's schema); the session is saved at commit.
 *
 * @since 1.0.0
 * @category accessors
 */
export const set = accessors.set

/**
 * Removes `key` from the session.
 *
 * @since 1.0.0
 * @category accessors
 */
export const remove = accessors.remove

/**
 * Returns the value of `key` and removes it (a flash message).
 *
 * @since 1.0.0
 * @category accessors
 */
export const pop = accessors.pop

/**
 * Whether the session holds a value for `key`.
 *
 * @since 1.0.0
 * @category accessors
 */
export const has = accessors.has

/**
 * The names of the keys the session holds, sorted.
 *
 * @since 1.0.0
 * @category accessors
 */
export const keys = accessors.keys

/**
 * Removes every value; the token and deadline stay.
 *
 * @since 1.0.0
 * @category accessors
 */
export const clear = accessors.clear

/**
 * Gives the session a new token and a fresh deadline, keeping its data. At commit the renewed record is saved
 * first, then the old one is retired (for `renewGrace` it holds only a marker that requests already in flight
 * follow to merge their changes; new requests with the old token find nothing). A failed commit leaves the old
 * session as it was. Call it when privileges change (login, logout, role change) to defeat session fixation.
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const renew = accessors.renew

/**
 * Ends the session: at commit it is deleted from the store (with the session a racing `renew` moved it to) and its
 * cookie expired; requests that loaded it earlier cannot bring it back. A later `set` in the same request starts a
 * fresh session.
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const destroy = accessors.destroy

/**
 * `unmodified`, `modified` or `destroyed`.
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const status = accessors.status

/**
 * With `cookie.persist: false`, makes this session's cookie persistent (`true`) or a browser-session cookie
 * (`false`).
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const rememberMe = accessors.rememberMe

/**
 * The absolute deadline of the session.
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const deadline = accessors.deadline

/**
 * Moves the absolute deadline; a deadline in the past ends the session at commit.
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const setDeadline = accessors.setDeadline

/**
 * The session's token: `None` for a session that has not been committed yet (a new one, or one just renewed).
 *
 * @since 1.0.0
 * @category lifecycle
 */
export const token = accessors.token

/**
 * Binds the session to a user (typically right after `renew` at login), with `info` the application keeps for a
 * list of the user's sessions (a user agent, a place): see `SessionManager.listUserSessions`. Setting it again
 * moves the session to another user; `destroy` unbinds it.
 *
 * @since 1.0.0
 * @category users
 */
export const setUser = accessors.setUser

/**
 * The user the session is bound to (`setUser`).
 *
 * @since 1.0.0
 * @category users
 */
export const user = accessors.user

/**
 * The store key of the session (what `listUserSessions` shows and `revokeSession` takes; never the token):
 * `None` for a session not stored yet (a new one, or one renewed in this request until its commit).
 *
 * @since 1.0.0
 * @category users
 */
export const storeKey = accessors.storeKey

/**
 * The live sessions bound to `userId`, through the `SessionManager`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Session } from "effect-session"
 *
 * // "sign out other devices"
 * const signOutOthers = Effect.gen(function*() {
 *   const userId = yield* Session.user
 *   const current = yield* Session.storeKey
 *   if (userId._tag === "Some") {
 *     yield* Session.revokeUserSessions(userId.value, { except: current._tag === "Some" ? current.value : undefined })
 *   }
 * })
 * ```
 *
 * @since 1.0.0
 * @category users
 */
export const listUserSessions = (
  userId: string
): Effect.Effect<ReadonlyArray<UserSession>, SessionError, SessionManager> =>
  Effect.flatMap(SessionManager, (manager) => manager.listUserSessions(userId))

/**
 * Ends the session under a store key, through the `SessionManager`.
 *
 * @since 1.0.0
 * @category users
 */
export const revokeSession = (key: string): Effect.Effect<boolean, SessionError, SessionManager> =>
  Effect.flatMap(SessionManager, (manager) => manager.revokeSession(key))

/**
 * Ends every session bound to `userId` but `except`, through the `SessionManager`.
 *
 * @since 1.0.0
 * @category users
 */
export const revokeUserSessions = (
  userId: string,
  options?: { readonly except?: string | undefined } | undefined
): Effect.Effect<number, SessionError, SessionManager> =>
  Effect.flatMap(SessionManager, (manager) => manager.revokeUserSessions(userId, options))
