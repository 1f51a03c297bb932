/**
 * The storage contract shared by every engine.
 *
 * A `SessionStore` keeps opaque bytes under a token until an expiry. It knows nothing about cookies, codecs or
 * HTTP: `Session` encodes the session into bytes and hands them to whichever engine the program provides
 * (`MemStore`, `RedisStore`, `FileStore`, or your own).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * Why a store operation failed.
 *
 * - `Unreachable`: the backend cannot be reached (connection refused, reset, DNS).
 * - `Timeout`: the backend did not answer within the engine's bound.
 * - `Corrupt`: stored data could not be read back (bad framing, checksum mismatch).
 * - `Closed`: the store's layer has been released.
 * - `Locked`: another live process or layer holds the store (FileStore's one-writer rule).
 * - `InvalidInput`: the caller passed something the engine cannot store (for example a payload above its limit).
 * - `Full`: the engine holds its configured maximum of sessions and refuses a new one (MemStore's `maxSessions`);
 *   sessions already held are unaffected.
 * - `Io`: the backend reported an error of its own (a file system error, a Redis error reply).
 *
 * @since 1.0.0
 * @category errors
 */
export const SessionStoreErrorReason = Schema.Literals([
  "Unreachable",
  "Timeout",
  "Corrupt",
  "Closed",
  "Locked",
  "InvalidInput",
  "Full",
  "Io"
])

/**
 * @since 1.0.0
 * @category errors
 */
export type SessionStoreErrorReason = typeof SessionStoreErrorReason.Type

/**
 * The one error every store operation can fail with.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Store } from "effect-session"
 *
 * const program = Store.find("token").pipe(
 *   Effect.catchTag("SessionStoreError", (error) =>
 *     error.reason === "Timeout" ? Effect.succeedNone : Effect.fail(error))
 * )
 * ```
 *
 * @since 1.0.0
 * @category errors
 */
export class SessionStoreError extends Schema.TaggedError<SessionStoreError>("effect-session/SessionStoreError")(
  "SessionStoreError",
  {
    reason: SessionStoreErrorReason,
    method: Schema.String,
    description: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect())
  }
) {
  /**
   * @since 1.0.0
   */
  override get message(): string {
    const base = `SessionStore.${this.method}: ${reasonText[this.reason]}`
    return this.description === undefined ? base : `${base}: ${this.description}`
  }
}

const reasonText: Record<SessionStoreErrorReason, string> = {
  Unreachable: "the backend is unreachable",
  Timeout: "the backend did not answer in time",
  Corrupt: "stored data is corrupt",
  Closed: "the store is closed",
  Locked: "the store is locked by another owner",
  InvalidInput: "invalid input",
  Full: "the store is full",
  Io: "the backend reported an error"
}

/**
 * What `load` answers for a live entry: its bytes, its version and its expiry.
 *
 * @since 1.0.0
 * @category models
 */
export interface StoredEntry {
  readonly data: Uint8Array
  /**
   * An opaque string naming this content of the entry. Every write that changes the bytes (`save`, a successful
   * `saveIf`) gives the entry a version it has never had before under this key while it lives; a `touch` keeps it.
   * An engine may use a counter (MemStore, FileStore) or a digest of the bytes (RedisStore).
   */
  readonly version: string
  /** When the entry expires, as the engine holds it (moved by `save`, `saveIf` and `touch`). */
  readonly expiry: DateTime.Utc
}

/**
 * The operations an engine provides. Keys are store keys (by default `Session` uses base64url(SHA-256(token))).
 *
 * - `find`: the bytes saved under `key`, or `None` when the key is unknown or its expiry is not after now.
 *   "Not found" is never an error.
 * - `save`: inserts or replaces both the bytes and the expiry, unconditionally. An expiry that is not after now
 *   removes the entry.
 * - `delete`: removes the entry; deleting an unknown key succeeds.
 * - `all`: a stream of the live `[key, data]` pairs.
 *
 * The conditional operations that `Session` commits with (so that overlapping requests of one session never undo
 * each other) must each be atomic with respect to every other operation on the same key:
 *
 * - `load`: `find`, with the entry's `version` and `expiry`.
 * - `saveIf(key, data, expiry, expected)`: writes only when the entry's current version is `expected`
 *   (`Some(version)`), or only when there is no live entry (`None`). Answers `Some(newVersion)` when it wrote, and
 *   `None` (a conflict, not an error) when it did not. An expiry that is not after now removes the entry when the
 *   condition holds.
 * - `touch(key, expiry, expected)`: moves only the expiry of the entry whose version is `expected`, keeping its
 *   bytes and version; answers whether it did. An entry that is gone or holds another version is left alone.
 *
 * A write that one of these reports as done must be visible to every later operation on the key (in this process
 * and, for a shared backend, in every process). An engine written outside this package runs the same checks as
 * the built-in engines: `storeConformance` from `effect-session/testing`.
 *
 * Bytes are copied in and out: mutating the array passed to `save`, or returned by `find`, changes nothing stored.
 * The array passed to `save` may be a view into a larger buffer (the session codec's output comes from Node's
 * shared buffer pool): an engine reads `data.byteOffset` to `data.byteOffset + data.byteLength`, never the whole
 * `data.buffer`. What `find` and `all` return owns its memory, shared with no other data.
 * "Now" is the Effect `Clock`, so `TestClock` drives expiry in tests.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionStoreService {
  readonly find: (key: string) => Effect.Effect<Option.Option<Uint8Array>, SessionStoreError>
  readonly save: (key: string, data: Uint8Array, expiry: DateTime.Utc) => Effect.Effect<void, SessionStoreError>
  readonly delete: (key: string) => Effect.Effect<void, SessionStoreError>
  readonly all: Stream.Stream<readonly [key: string, data: Uint8Array], SessionStoreError>
  /** @since 1.0.0 */
  readonly load: (key: string) => Effect.Effect<Option.Option<StoredEntry>, SessionStoreError>
  /** @since 1.0.0 */
  readonly saveIf: (
    key: string,
    data: Uint8Array,
    expiry: DateTime.Utc,
    expected: Option.Option<string>
  ) => Effect.Effect<Option.Option<string>, SessionStoreError>
  /** @since 1.0.0 */
  readonly touch: (key: string, expiry: DateTime.Utc, expected: string) => Effect.Effect<boolean, SessionStoreError>
}

/**
 * The generic tag every engine provides.
 *
 * @since 1.0.0
 * @category tags
 */
export class SessionStore extends Context.Service<SessionStore, SessionStoreService>()("effect-session/SessionStore") {}

/**
 * Builds a `SessionStore` service from an engine's operations.
 *
 * Engines written outside this package should use it too, and run the conformance suite the built-in engines run,
 * in a vitest test file (it needs `@effect/vitest`):
 *
 * ```ts
 * import { storeConformance } from "effect-session/testing"
 *
 * storeConformance("MyStore", () => MyStore.layer(), { clock: "test" }) // "live": the backend's own clock
 * ```
 *
 * Store operations carry no tracing spans of their own (a span costs more than a whole in-memory operation); wrap
 * the service with `traced`, or the layer with `layerTraced`, to get one per operation.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (impl: SessionStoreService): SessionStoreService => SessionStore.of(impl)

const spanOptions = { captureStackTrace: false } as const

/**
 * Adds a tracing span to each operation of a store: `SessionStore.find`, `SessionStore.save`,
 * `SessionStore.delete`, `SessionStore.all`, `SessionStore.load`,
 * `SessionStore.saveIf` and `SessionStore.touch`.
 *
 * @since 1.0.0
 * @category tracing
 */
export const traced = (store: SessionStoreService): SessionStoreService =>
  SessionStore.of({
    find: (token) => Effect.withSpan(store.find(token), "SessionStore.find", spanOptions),
    save: (token, data, expiry) => Effect.withSpan(store.save(token, data, expiry), "SessionStore.save", spanOptions),
    delete: (token) => Effect.withSpan(store.delete(token), "SessionStore.delete", spanOptions),
    all: Stream.withSpan(store.all, "SessionStore.all", spanOptions),
    load: (key) => Effect.withSpan(store.load(key), "SessionStore.load", spanOptions),
    saveIf: (key, data, expiry, expected) =>
      Effect.withSpan(store.saveIf(key, data, expiry, expected), "SessionStore.saveIf", spanOptions),
    touch: (key, expiry, expected) =>
      Effect.withSpan(store.touch(key, expiry, expected), "SessionStore.touch", spanOptions)
  })

/**
 * Replaces the provided `SessionStore` with one that traces each operation (see `traced`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { MemStore, Store } from "effect-session"
 *
 * const StoreLive = Store.layerTraced.pipe(Layer.provide(MemStore.layer()))
 * ```
 *
 * @since 1.0.0
 * @category tracing
 */
export const layerTraced: Layer.Layer<SessionStore, never, SessionStore> = Layer.effect(
  SessionStore,
  Effect.map(SessionStore, traced)
)

/**
 * Finds the bytes saved under `token` in the provided `SessionStore`.
 *
 * @since 1.0.0
 * @category accessors
 */
export const find = (token: string): Effect.Effect<Option.Option<Uint8Array>, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.find(token))

/**
 * Saves `data` under `token` until `expiry` in the provided `SessionStore`.
 *
 * @example
 * ```ts
 * import { DateTime, Duration, Effect } from "effect"
 * import { MemStore, Store } from "effect-session"
 *
 * const program = Effect.gen(function*() {
 *   const expiry = DateTime.addDuration(yield* DateTime.now, Duration.hours(1))
 *   yield* Store.save("token", new TextEncoder().encode("hello"), expiry)
 *   return yield* Store.find("token")
 * }).pipe(Effect.provide(MemStore.layer()))
 * ```
 *
 * @since 1.0.0
 * @category accessors
 */
export const save = (
  token: string,
  data: Uint8Array,
  expiry: DateTime.Utc
): Effect.Effect<void, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.save(token, data, expiry))

/**
 * Deletes `token` from the provided `SessionStore`; deleting an unknown token succeeds.
 *
 * @since 1.0.0
 * @category accessors
 */
const del = (token: string): Effect.Effect<void, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.delete(token))

export {
  /**
   * Deletes `token` from the provided `SessionStore`; deleting an unknown token succeeds.
   *
   * @since 1.0.0
   * @category accessors
   */
  del as delete
}

/**
 * Streams the live `[token, data]` pairs of the provided `SessionStore`.
 *
 * @since 1.0.0
 * @category accessors
 */
export const all: Stream.Stream<readonly [token: string, data: Uint8Array], SessionStoreError, SessionStore> = Stream
  .unwrap(Effect.map(SessionStore, (store) => store.all))

/**
 * Loads the entry under `key` (bytes, version, expiry) from the provided `SessionStore`.
 *
 * @since 1.0.0
 * @category accessors
 */
export const load = (key: string): Effect.Effect<Option.Option<StoredEntry>, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.load(key))

/**
 * Saves `data` under `key` only when the entry holds the `expected` version (`None`: only when there is no live
 * entry); `Some(newVersion)` when it wrote, `None` on a conflict.
 *
 * @since 1.0.0
 * @category accessors
 */
export const saveIf = (
  key: string,
  data: Uint8Array,
  expiry: DateTime.Utc,
  expected: Option.Option<string>
): Effect.Effect<Option.Option<string>, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.saveIf(key, data, expiry, expected))

/**
 * Moves the expiry of the entry under `key` when it holds the `expected` version; whether it did.
 *
 * @since 1.0.0
 * @category accessors
 */
export const touch = (
  key: string,
  expiry: DateTime.Utc,
  expected: string
): Effect.Effect<boolean, SessionStoreError, SessionStore> =>
  Effect.flatMap(SessionStore, (store) => store.touch(key, expiry, expected))
