/**
 * An in-memory `SessionStore`: the fastest engine, and the one to use in tests.
 *
 * Everything is lost when the process stops, so use it where that is acceptable (development, tests, data that
 * is cheap to lose), or `FileStore` / `RedisStore` otherwise.
 *
 * @since 1.0.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fromBinary, MAX_BINARY_LENGTH, toBinary } from "./core/bytes.js"
import { formatVersion, type IndexEntry, MemoryIndex, parseVersion, VersionCounter } from "./core/memoryIndex.js"
import { withNow } from "./internal/clock.js"
import * as Options from "./internal/options.js"
import { sweepExpired } from "./internal/sweep.js"
import * as Store from "./Store.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface MemStoreOptions {
  /**
   * How often the background cleanup removes expired sessions from memory. Default: 1 minute. `0` disables the
   * cleanup (expired sessions are still never returned: expiry is checked on every read).
   */
  readonly cleanupInterval?: Duration.Input | undefined
  /**
   * The most sessions kept at once. When the store is full (counting live sessions only: expired ones are dropped
   * first), saving a new token fails with a `SessionStoreError` of reason `Full` (the HTTP adapters answer 503),
   * while saving, reading and deleting the sessions already held keep working.
   *
   * Why refuse instead of evicting: whoever can mint sessions (any anonymous visitor) could otherwise push every
   * established session out by creating new ones, whatever the eviction order (least recently used, or closest
   * to expiry: with equal lifetimes that is the oldest). Refusing keeps the logged-in users logged in; the cost
   * is that during such a flood no new session can start until sessions expire (size `maxSessions` with room for
   * your real peak, and keep `lifetime`/`idleTimeout` of anonymous sessions short).
   */
  readonly maxSessions?: number | undefined
}

/**
 * The MemStore service: a `SessionStore` plus the number of entries held in memory.
 *
 * Versions (`load`, `saveIf`, `touch`) come from a counter of the store, in base 36: every `save` and successful
 * `saveIf` takes the next one, so a version is never given twice while the store lives. A `saveIf` that removes
 * the entry (an expiry not after now) also takes one and answers it: a version no entry holds.
 *
 * @since 1.0.0
 * @category models
 */
export interface MemStore extends Store.SessionStoreService {
  /** How many entries are held in memory, expired or not (a sweep or a read removes expired ones). */
  readonly size: Effect.Effect<number>
}

/**
 * @since 1.0.0
 * @category tags
 */
export const MemStore: Context.Service<MemStore, MemStore> = Context.Service<MemStore>("effect-session/MemStore")

const closed = (method: string) => new Store.SessionStoreError({ reason: "Closed", method })

const full = (method: string, maxSessions: number) =>
  new Store.SessionStoreError({
    reason: "Full",
    method,
    description: `the store holds its maximum of ${maxSessions} live sessions; a new one is refused`
  })

const tooLarge = (method: string, length: number) =>
  new Store.SessionStoreError({
    reason: "InvalidInput",
    method,
    description: `the data is ${length} bytes long, above the limit of ${MAX_BINARY_LENGTH}`
  })

const storedEntry = (entry: IndexEntry<string>): Store.StoredEntry => ({
  data: fromBinary(entry.data),
  version: formatVersion(entry.version),
  expiry: DateTime.makeUnsafe(entry.expiresAt)
})

/**
 * Creates a MemStore in the current scope. The cleanup fiber (when enabled) runs in that scope and stops when it
 * closes; after that, every operation fails with a `Closed` error.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (
  options: MemStoreOptions = {}
): Effect.Effect<MemStore, Store.SessionStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const cleanupInterval = yield* Options.duration(
      "MemStore.make",
      "cleanupInterval",
      options.cleanupInterval,
      "1 minute"
    )
    const maxSessions = yield* Options.positiveInteger("MemStore.make", "maxSessions", options.maxSessions)
    // each session's bytes as a binary string: see internal/bytes.ts for why
    const index = new MemoryIndex<string>()
    // every write that changes an entry's bytes takes the next version (see `load`)
    const versions = new VersionCounter()
    let isClosed = false

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        isClosed = true
      })
    )

    const sweep = Effect.flatMap(Clock.currentTimeMillis, (now) => sweepExpired(index, now))
    if (Duration.isGreaterThan(cleanupInterval, Duration.zero)) {
      yield* sweep.pipe(
        Effect.repeat(Schedule.spaced(cleanupInterval)),
        Effect.delay(cleanupInterval),
        Effect.interruptible,
        Effect.forkScoped
      )
    }

    const store = Store.make({
      find: (token) =>
        withNow((now) => {
          if (isClosed) return Effect.fail(closed("find"))
          const entry = index.get(token, now)
          return Effect.succeed(entry === undefined ? Option.none() : Option.some(fromBinary(entry.data)))
        }),
      save: (token, data, expiry) =>
        withNow((now) => {
          if (isClosed) return Effect.fail(closed("save"))
          if (data.length > MAX_BINARY_LENGTH) return Effect.fail(tooLarge("save", data.length))
          const expiresAt = DateTime.toEpochMillis(expiry)
          if (expiresAt <= now) index.delete(token)
          else if (maxSessions !== undefined && !index.hasRoomFor(token, maxSessions, now)) {
            return Effect.fail(full("save", maxSessions))
          } else index.set(token, toBinary(data), expiresAt, versions.next())
          return Effect.void
        }),
      delete: (token) =>
        Effect.suspend(() => {
          if (isClosed) return Effect.fail(closed("delete"))
          index.delete(token)
          return Effect.void
        }),
      all: Stream.unwrap(Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (isClosed) return Effect.fail(closed("all"))
        const live = index.live(now)
        return Effect.succeed(
          Stream.fromIterable(live).pipe(
            Stream.map((entry) => [entry.token, fromBinary(entry.data)] as const)
          )
        )
      })),
      // The conditional operations decide and apply in one synchronous step: no other operation runs in between.
      load: (key) =>
        withNow((now) => {
          if (isClosed) return Effect.fail(closed("load"))
          const entry = index.get(key, now)
          return Effect.succeed(entry === undefined ? Option.none() : Option.some(storedEntry(entry)))
        }),
      // A removal (an expiry not after now, the condition holding) answers a version that no entry ever held.
      saveIf: (key, data, expiry, expected) =>
        withNow((now) => {
          if (isClosed) return Effect.fail(closed("saveIf"))
          if (data.length > MAX_BINARY_LENGTH) return Effect.fail(tooLarge("saveIf", data.length))
          const current = index.get(key, now)
          const holds = Option.isNone(expected)
            ? current === undefined
            : current !== undefined && current.version === parseVersion(expected.value)
          if (!holds) return Effect.succeedNone
          const expiresAt = DateTime.toEpochMillis(expiry)
          if (expiresAt <= now) {
            if (current !== undefined) index.delete(key)
            return Effect.succeed(Option.some(formatVersion(versions.next())))
          }
          if (current === undefined && maxSessions !== undefined && !index.hasRoomFor(key, maxSessions, now)) {
            return Effect.fail(full("saveIf", maxSessions))
          }
          const version = versions.next()
          index.set(key, toBinary(data), expiresAt, version)
          return Effect.succeed(Option.some(formatVersion(version)))
        }),
      touch: (key, expiry, expected) =>
        withNow((now) => {
          if (isClosed) return Effect.fail(closed("touch"))
          const current = index.get(key, now)
          if (current === undefined || current.version !== parseVersion(expected)) return Effect.succeed(false)
          const expiresAt = DateTime.toEpochMillis(expiry)
          if (expiresAt <= now) index.delete(key)
          else index.setExpiry(current, expiresAt)
          return Effect.succeed(true)
        })
    })

    return MemStore.of({ ...store, size: Effect.sync(() => index.size) })
  })

/**
 * A layer providing both the generic `SessionStore` and the `MemStore` tag.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MemStore, Store } from "effect-session"
 *
 * const program = Store.find("token").pipe(
 *   Effect.provide(MemStore.layer({ cleanupInterval: "5 minutes" }))
 * )
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (
  options?: MemStoreOptions
): Layer.Layer<Store.SessionStore | MemStore, Store.SessionStoreError> =>
  Layer.effectContext(
    Effect.map(make(options), (store) => Context.make(MemStore, store).pipe(Context.add(Store.SessionStore, store)))
  )

/**
 * `layer`, typed as providing only the generic `Store.SessionStore` (not the `MemStore` tag).
 *
 * Use it where layers of different engines must share one type, such as an engine chosen at run time:
 *
 * ```ts
 * const StoreLive = process.env.SESSION_STORE === "redis"
 *   ? RedisStore.layerStore({ url: process.env.REDIS_URL })
 *   : FileStore.layerStore({ path: "./sessions.log" })
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layerStore = (
  options?: MemStoreOptions
): Layer.Layer<Store.SessionStore, Store.SessionStoreError> => Layer.effect(Store.SessionStore, make(options))

/**
 * `layer`, with its options read from `Config`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { MemStore } from "effect-session"
 *
 * const SessionsLive = MemStore.layerConfig({
 *   cleanupInterval: Config.Duration("SESSION_CLEANUP_INTERVAL").pipe(Config.withDefault("1 minute")),
 *   maxSessions: Config.Int("SESSION_MAX").pipe(Config.withDefault(100_000))
 * })
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Wrap<MemStoreOptions>
): Layer.Layer<Store.SessionStore | MemStore, Config.ConfigError | Store.SessionStoreError> =>
  Layer.effectContext(
    Config.unwrap(config).pipe(
      Effect.flatMap(make),
      Effect.map((store) => Context.make(MemStore, store).pipe(Context.add(Store.SessionStore, store)))
    )
  )
