/**
 * A `SessionStore` in Redis, standalone or Cluster: the engine for programs that run more than one server process.
 *
 * Each session is one Redis string under `prefix + token` holding the session's bytes, with a Redis TTL equal to
 * the session's expiry minus now on the Effect `Clock`; Redis removes expired sessions by itself, so there is no
 * cleanup fiber.
 *
 * The conditional operations `load`, `saveIf` and `touch` are one Lua script each, on the session's one key (so
 * they work on a Cluster), atomic on the server. An entry's version is the hex SHA-1 of its bytes, compared by the
 * script with `redis.sha1hex`: nothing beside the bytes is stored, so sessions written by `save` or by an earlier
 * release have a version too. Scripts go by `EVALSHA`, and by `EVAL` when Redis does not hold them (after a
 * restart, a failover or `SCRIPT FLUSH`). Two writes of the same bytes give the same version, which is what
 * `saveIf` and `touch` check: whether the bytes are still those that were read.
 *
 * Every operation is bounded: when Redis is down, unreachable or stuck, it fails with a `SessionStoreError` whose
 * reason is `Unreachable` or `Timeout` within `timeout` (default 2 seconds) instead of queueing forever, and when
 * Redis comes back the same layer works again. The bound is a real-time deadline on each round trip, enforced by
 * the store around every command whatever the client's settings; `all` is a stream, and each of its round trips
 * (one `SCAN` and one pipeline of `GET`s per batch) has that bound. With a client the store creates, a Redis that
 * refuses connections fails operations as `Unreachable` sooner, at the client's next reconnection attempt (at most
 * 1 second apart), and the client finds Redis again within about a second of its return.
 *
 * Requires the optional peer dependency `ioredis` (`npm install ioredis`). The types of this module do not name
 * ioredis' own (`RedisClient` and `redis` are structural), so a program that does not use Redis compiles without
 * ioredis installed.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Cluster, Redis, RedisOptions } from "ioredis"
import * as Client from "./core/redisClient.js"
import { closeOwned } from "./core/redisCluster.js"
import { type Page, RedisEngine } from "./core/redisEngine.js"
import type { RedisFailure } from "./core/redisErrors.js"
import type { Done } from "./core/redisRoundTrip.js"
import type { Loaded } from "./core/redisScripts.js"
import type * as Types from "./core/redisTypes.js"
import * as Options from "./internal/options.js"
import * as Internal from "./internal/redis.js"
import * as Store from "./Store.js"

/**
 * The part of an ioredis client (`Redis` or `Cluster`, ioredis 5) that the store relies on, described here so that
 * this module's types do not require ioredis. Pass the `Redis` or `Cluster` itself; `RedisStore.client` is that
 * same object (cast it back to your ioredis type to use the rest of its API).
 *
 * @since 0.1.0
 * @category models
 */
export type RedisClient = Types.RedisClient

/**
 * Options of the store itself, for both a client the store creates and one you pass in.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisStoreOptions {
  /**
   * Prepended to every token to make the Redis key: a session lives under exactly `prefix + token`. Default:
   * `"session:"`. `all` scans the keys that start with it, so give each store its own prefix (or database). On a
   * Cluster, avoid `{...}` in the prefix unless you mean to put every session in one hash slot.
   */
  readonly prefix?: string | undefined
  /**
   * The most time one round trip to Redis may take: `find`, `save`, `delete`, `load`, `saveIf` and `touch` are one
   * round trip each (a script that Redis does not hold yet is sent again in full within the same bound), and `all`
   * makes two per batch of keys (a `SCAN`, then a pipeline of `GET`s). When Redis does not answer in time, the
   * operation fails with a `Timeout` (or `Unreachable`) error. Default: 2 seconds. Measured in real time, not on the
   * Effect `Clock`, so it holds under `TestClock` too.
   *
   * An operation that failed with `Timeout` may still have reached Redis and taken effect.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The `COUNT` hint of each `SCAN` made by `all`, which is also about how many values one pipeline fetches.
   * Default: 1000.
   */
  readonly scanCount?: number | undefined
}

/**
 * Options for a store that creates, and owns, its ioredis client (`make`, `layer`, `layerConfig`).
 *
 * The client is created with settings that make it fail fast rather than queue while Redis is down
 * (`clientDefaults`), and with ioredis auto-pipelining on: commands issued in the same tick share one write, which
 * measured 7 to 25% more operations per second with 64 to 512 concurrent callers (and no gain for one caller at a
 * time). Anything in `redis` overrides these settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisStoreConfig extends RedisStoreOptions {
  /**
   * A `redis://` or `rediss://` URL (`redis://user:password@host:6379/0`). Pass it as `Redacted` (for example
   * from `Config.redacted("REDIS_URL")`) to keep the password out of logs. What the URL says takes precedence over
   * the same setting in `redis` (ioredis' rule). Default: `redis://127.0.0.1:6379`.
   */
  readonly url?: Redacted.Redacted | string | undefined
  /**
   * ioredis `RedisOptions` (host, port, password, tls, db, retry and timeout settings...). Typed as `object` so
   * that this module's types do not require ioredis; to have them checked, write
   * `redis: { db: 3 } satisfies RedisOptions`.
   */
  readonly redis?: object | undefined
}

/**
 * The RedisStore service: a `SessionStore`, plus the ioredis client and the settings it uses.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisStore extends Store.SessionStoreService {
  /** The client the store sends its commands through: the standalone `Redis` or the `Cluster`. */
  readonly client: RedisClient
  /** The key prefix: a session lives under `prefix + token`. */
  readonly prefix: string
  /** The bound of one round trip to Redis. */
  readonly timeout: Duration.Duration
}

/**
 * The tag of the RedisStore service, provided by every layer of this module next to `Store.SessionStore`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Redis } from "ioredis"
 * import { RedisStore } from "effect-session"
 *
 * const ping = Effect.flatMap(RedisStore.RedisStore, ({ client }) => Effect.promise(() => (client as Redis).ping()))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const RedisStore: Context.Tag<RedisStore, RedisStore> = Context.GenericTag<RedisStore>(
  "effect-session/RedisStore"
)

/**
 * The ioredis settings `clientDefaults` returns: assignable to ioredis' `RedisOptions`.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientDefaults = Types.ClientDefaults

/**
 * The ioredis settings a store-owned client starts from, for a given `timeout` in milliseconds (default 2000).
 * Use them for a client you create yourself to get the same fail-fast behaviour:
 *
 * - `enableOfflineQueue: true` with `maxRetriesPerRequest: 0`: a command sent while (re)connecting waits for the
 *   connection, but is rejected as soon as a connection attempt fails, instead of queueing until Redis is back.
 * - `retryStrategy`: reconnect forever, after 50 ms, 100 ms, 200 ms... at most 1 second apart, so the client finds
 *   Redis again within about a second of its return.
 * - `connectTimeout` and `commandTimeout`: `timeout`.
 *
 * @example
 * ```ts
 * import { Cluster } from "ioredis"
 * import { RedisStore } from "effect-session"
 *
 * const cluster = new Cluster([{ host: "10.0.0.1", port: 6379 }], {
 *   redisOptions: RedisStore.clientDefaults(),
 *   clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientDefaults = (timeoutMillis?: number): ClientDefaults =>
  Client.clientDefaults(timeoutMillis) as ClientDefaults

interface Resolved extends Client.StoreSettings {
  readonly timeout: Duration.Duration
}

const resolveOptions = (
  method: string,
  options: RedisStoreOptions
): Effect.Effect<Resolved, Store.SessionStoreError> =>
  Effect.flatMap(
    Options.duration(method, "timeout", options.timeout, Duration.millis(Client.DEFAULT_TIMEOUT_MILLIS)),
    (timeout) => {
      const settings = Client.storeSettings(options, Duration.toMillis(timeout), Duration.format(timeout))
      return typeof settings === "string"
        ? Effect.fail(Options.invalidOption(method, settings))
        : Effect.succeed({ ...settings, timeout })
    }
  )

const toOption = (bytes: Uint8Array | undefined): Option.Option<Uint8Array> =>
  bytes === undefined ? Option.none() : Option.some(bytes)

const toEntry = (loaded: Loaded | undefined): Option.Option<Store.StoredEntry> =>
  loaded === undefined
    ? Option.none()
    : Option.some({ data: loaded.data, version: loaded.version, expiry: DateTime.unsafeMake(loaded.expiryMillis) })

const toVersion = (version: string | undefined): Option.Option<string> =>
  version === undefined ? Option.none() : Option.some(version)

const build = (
  method: string,
  client: Redis | Cluster,
  options: RedisStoreOptions,
  owned: boolean
): Effect.Effect<RedisStore, Store.SessionStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const { prefix, scanCount, timeout, timeoutMs } = yield* resolveOptions(method, options)
    const engine = yield* Effect.acquireRelease(
      Effect.sync(() => new RedisEngine(client, { prefix, timeoutMs, scanCount, owned })),
      (engine) => Effect.sync(() => engine.release())
    )
    const nodes = Internal.fromCallback<ReadonlyArray<Redis | Cluster>>((done) => engine.nodes(done))
    const page = (node: Redis | Cluster, seen: Set<string>) => (cursor: string) =>
      Internal.fromCallback(
        (done: Done<Page>) => engine.page(node, cursor, seen, done),
        ({ entries, next }) => [Chunk.unsafeFromArray(entries), Option.fromNullable(next)] as const
      )

    // each operation is one engine call, with its reply mapped in the same step (no extra `map` per operation)
    const store = Store.make({
      find: (token) => Internal.fromCallback((done) => engine.find(token, done), toOption),
      save: (token, data, expiry) =>
        Effect.clockWith((clock) =>
          Internal.fromCallback((done) =>
            engine.save(token, data, DateTime.toEpochMillis(expiry), clock.unsafeCurrentTimeMillis(), done)
          )
        ),
      delete: (token) => Internal.fromCallback((done) => engine.delete(token, done)),
      load: (token) =>
        Effect.clockWith((clock) =>
          Internal.fromCallback((done) => engine.load(token, clock.unsafeCurrentTimeMillis(), done), toEntry)
        ),
      saveIf: (token, data, expiry, expected) =>
        Effect.clockWith((clock) =>
          Internal.fromCallback(
            (done) =>
              engine.saveIf(
                token,
                data,
                DateTime.toEpochMillis(expiry),
                clock.unsafeCurrentTimeMillis(),
                Option.getOrUndefined(expected),
                done
              ),
            toVersion
          )
        ),
      touch: (token, expiry, expected) =>
        Effect.clockWith((clock) =>
          Internal.fromCallback((done) =>
            engine.touch(token, DateTime.toEpochMillis(expiry), clock.unsafeCurrentTimeMillis(), expected, done)
          )
        ),
      all: Stream.unwrap(Effect.map(nodes, (nodes) => {
        // SCAN may return a key more than once; tokens already emitted are skipped
        const seen = new Set<string>()
        return Stream.flatMap(Stream.fromIterable(nodes), (node) => Stream.paginateChunkEffect("0", page(node, seen)))
      }))
    })

    return RedisStore.of({ ...store, client, prefix, timeout })
  })

const toContext = (store: RedisStore): Context.Context<RedisStore | Store.SessionStore> =>
  Context.make(RedisStore, store).pipe(Context.add(Store.SessionStore, store))

const parseUrl = (method: string, url: Redacted.Redacted | string | undefined) => {
  if (url === undefined) return Effect.succeed(undefined)
  const value = Redacted.isRedacted(url) ? Redacted.value(url) : url
  return Client.isRedisUrl(value)
    ? Effect.succeed(value)
    : Effect.fail(Options.invalidOption(method, "url must be a redis:// or rediss:// URL"))
}

/**
 * Creates an ioredis client from `config` and a store over it, in the current scope. Closing the scope marks the
 * store closed (operations then fail with `Closed`) and closes the client (`QUIT`, then disconnect).
 *
 * It does not wait for Redis: when Redis is down at startup, operations fail within `timeout` until it is up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: RedisStoreConfig = {}
): Effect.Effect<RedisStore, Store.SessionStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const method = "RedisStore.make"
    const { timeoutMs } = yield* resolveOptions(method, config)
    const url = yield* parseUrl(method, config.url)
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          Client.createClient(
            method,
            url,
            Client.ownedClientOptions(timeoutMs, config.redis as RedisOptions | undefined)
          ),
        catch: (failure) => Internal.toError(failure as RedisFailure)
      }),
      (client) => Effect.promise(() => closeOwned(client, timeoutMs))
    )
    return yield* build(method, client, config, true)
  })

/**
 * Creates a store over a `Redis` or `Cluster` client you own, in the current scope. Closing the scope marks the
 * store closed and removes its listeners from the client, but never closes the client.
 *
 * The store bounds each operation with `timeout` whatever the client's settings; for the client to also stop
 * queueing commands while Redis is down, create it with `clientDefaults()`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient = (
  client: RedisClient,
  options: RedisStoreOptions = {}
): Effect.Effect<RedisStore, Store.SessionStoreError, Scope.Scope> =>
  build("RedisStore.fromClient", client as Redis | Cluster, options, false)

/**
 * A layer that creates its own ioredis client and closes it when released, providing both `Store.SessionStore`
 * and `RedisStore`.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { RedisStore, Store } from "effect-session"
 *
 * const SessionsLive = RedisStore.layer({
 *   url: Redacted.make("redis://127.0.0.1:6379/0"),
 *   prefix: "myapp:session:",
 *   timeout: "1 second"
 * })
 *
 * const program = Store.find("token").pipe(Effect.provide(SessionsLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config?: RedisStoreConfig
): Layer.Layer<RedisStore | Store.SessionStore, Store.SessionStoreError> =>
  Layer.scopedContext(Effect.map(make(config), toContext))

/**
 * A layer over a `Redis` or `Cluster` client you own: releasing the layer never closes it. This is how to use a
 * Redis Cluster.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Cluster } from "ioredis"
 * import { RedisStore } from "effect-session"
 *
 * // the cluster lives as long as the layer, and is closed by you
 * const SessionsLive = Layer.unwrapScoped(
 *   Effect.map(
 *     Effect.acquireRelease(
 *       Effect.sync(() => new Cluster([{ host: "10.0.0.1", port: 6379 }], { redisOptions: RedisStore.clientDefaults() })),
 *       (cluster) => Effect.promise(() => cluster.quit())
 *     ),
 *     (cluster) => RedisStore.layerClient(cluster, { prefix: "session:" })
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  client: RedisClient,
  options?: RedisStoreOptions
): Layer.Layer<RedisStore | Store.SessionStore, Store.SessionStoreError> =>
  Layer.scopedContext(Effect.map(fromClient(client, options), toContext))

/**
 * `layer`, with its options read from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisStore } from "effect-session"
 *
 * const SessionsLive = RedisStore.layerConfig({
 *   url: Config.redacted("REDIS_URL"),
 *   prefix: Config.string("SESSION_PREFIX").pipe(Config.withDefault("session:")),
 *   timeout: Config.duration("REDIS_TIMEOUT").pipe(Config.withDefault("2 seconds"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<RedisStoreConfig>
): Layer.Layer<RedisStore | Store.SessionStore, ConfigError.ConfigError | Store.SessionStoreError> =>
  Layer.scopedContext(Config.unwrap(config).pipe(Effect.flatMap(make), Effect.map(toContext)))

/**
 * `layer`, typed as providing only the generic `Store.SessionStore` (not the `RedisStore` tag).
 *
 * Use it where layers of different engines must share one type, such as an engine chosen at run time:
 *
 * ```ts
 * const StoreLive = process.env.SESSION_STORE === "redis"
 *   ? RedisStore.layerStore({ url: process.env.REDIS_URL })
 *   : FileStore.layerStore({ path: "./sessions.log" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  config?: RedisStoreConfig
): Layer.Layer<Store.SessionStore, Store.SessionStoreError> => Layer.scoped(Store.SessionStore, make(config))
