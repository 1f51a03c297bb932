/**
 * The `Session` service of one request, used directly through the `SessionManager` (no HTTP): what a handler can
 * rely on whatever adapter serves it. Effect 4 line; the Effect 3 line runs the same checks from the root
 * `test/SessionService.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"

const A = Session.key("a", Schema.String)
const B = Session.key("b", Schema.Number)

/** A real MemStore whose n-th `load` answers after `delays[n]` milliseconds (a slow backend). */
const slowFinds = (delays: ReadonlyArray<number>) =>
  Layer.effect(
    Store.SessionStore,
    Effect.map(Store.SessionStore, (store) => {
      let n = 0
      return Store.make({
        ...store,
        load: (key) => Effect.andThen(Effect.sleep(delays[n++] ?? 0), store.load(key))
      })
    })
  ).pipe(Layer.provide(MemStore.layer()))

/**
 * A real MemStore whose first `saveIf` of an existing entry (one with an expected version) starts (`stalled` is
 * resolved) and then waits until `resume` is.
 */
const stallFirstSave = (stalled: Deferred.Deferred<void>, resume: Deferred.Deferred<void>) =>
  Layer.effect(
    Store.SessionStore,
    Effect.map(Store.SessionStore, (store) => {
      let n = 0
      return Store.make({
        ...store,
        saveIf: (key, data, expiry, expected) =>
          Effect.suspend(() =>
            Option.isSome(expected) && n++ === 0
              ? Effect.andThen(
                Effect.andThen(Deferred.succeed(stalled, undefined), Deferred.await(resume)),
                store.saveIf(key, data, expiry, expected)
              )
              : store.saveIf(key, data, expiry, expected)
          )
      })
    })
  ).pipe(Layer.provide(MemStore.layer()))

/** Saves a session holding `a = "old"` and returns its cookie token. */
const seed = Effect.gen(function*() {
  const manager = yield* Session.SessionManager
  const handle = manager.begin(undefined)
  yield* handle.session.set(A, "old")
  const result = yield* handle.commit
  assert.strictEqual(result._tag, "SetCookie")
  return result._tag === "SetCookie" ? result.token : ""
})

const SessionLive = Session.layer().pipe(Layer.provide(MemStore.layer()))

describe("Session service", () => {
  it.effect("its members work destructured (const { get, set } = yield* Session) and spread ({ ...session })", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const token = yield* seed
      const handle = manager.begin(token)
      const { get, has, keys, set } = handle.session
      assert.deepStrictEqual(yield* get(A), Option.some("old"))
      yield* set(B, 42)
      assert.isTrue(yield* has(B))
      assert.deepStrictEqual(yield* keys, ["a", "b"])
      const result = yield* handle.commit
      assert.strictEqual(result._tag, "SetCookie")
      const next = manager.begin(token)
      assert.deepStrictEqual(yield* next.session.get(B), Option.some(42))
      // a service decorated by spreading keeps every member
      const spread: Session.SessionService = { ...next.session, get: next.session.get }
      yield* spread.set(A, "spread")
      assert.deepStrictEqual(yield* spread.keys, ["a", "b"])
      assert.deepStrictEqual(yield* spread.get(A), Option.some("spread"))
      assert.strictEqual(yield* spread.status, "modified")
    }).pipe(Effect.provide(SessionLive)))

  it.effect("the module's accessors reach the provided Session service", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const token = yield* seed
      const handle = manager.begin(token)
      const seen = yield* Effect.gen(function*() {
        const before = yield* Session.status
        const value = yield* Session.get(A)
        yield* Session.set(B, 7)
        const popped = yield* Session.pop(A)
        return { before, value, popped, keys: yield* Session.keys, after: yield* Session.status }
      }).pipe(Effect.provideService(Session.Session, handle.session))
      assert.deepStrictEqual(seen, {
        before: "unmodified",
        value: Option.some("old"),
        popped: Option.some("old"),
        keys: ["b"],
        after: "modified"
      })
    }).pipe(Effect.provide(SessionLive)))

  it.effect("concurrent pops of one key: one gets the value; a pop that cannot decode leaves it", () =>
    Effect.gen(function*() {
      // decoding suspends the fiber, so the two pops interleave
      const Flash = Session.key(
        "a",
        Schema.String.pipe(Schema.decodeTo(Schema.String, {
          decode: SchemaGetter.transformEffect((s: string) => Effect.as(Effect.yieldNow, s)),
          encode: SchemaGetter.passthrough()
        }))
      )
      const AsNumber = Session.key("a", Schema.Number)
      const manager = yield* Session.SessionManager
      const token = yield* seed
      const handle = manager.begin(token)
      const error = yield* Effect.flip(handle.session.pop(AsNumber))
      assert.strictEqual(error.reason, "Decode")
      assert.strictEqual(error.key, "a")
      assert.deepStrictEqual(yield* handle.session.get(A), Option.some("old"))
      const popped = yield* Effect.all([handle.session.pop(Flash), handle.session.pop(Flash)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(popped.filter(Option.isSome), [Option.some("old")])
      yield* handle.commit
      assert.isFalse(yield* manager.begin(token).session.has(A))
    }).pipe(Effect.provide(SessionLive)))

  it.effect("a value JSON cannot hold (a bigint under Schema.Unknown) fails set with Encode, not a defect", () =>
    Effect.gen(function*() {
      // (Schema.BigInt itself is stored through its JSON codec, as a string; the JSON codec refuses at `set`)
      const Big = Session.key("big", Schema.Unknown)
      const manager = yield* Session.SessionManager
      const token = yield* seed
      const handle = manager.begin(token)
      const error = yield* Effect.flip(handle.session.set(Big, 1n))
      assert.strictEqual(error.reason, "Encode")
      assert.strictEqual(error.key, "big")
      yield* handle.commit
      // the stored session is left as it was
      assert.deepStrictEqual(yield* manager.begin(token).session.get(A), Option.some("old"))
      assert.isTrue(Option.isNone(yield* manager.begin(token).session.get(Big)))
    }).pipe(Effect.provide(SessionLive)))

  it.live("concurrent first uses: a slow second read of the store does not undo a change made after the first", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const token = yield* seed
      const handle = manager.begin(token)
      const { get, has, set } = handle.session
      const [seen, present] = yield* Effect.all([
        // reads the store (fast), then changes the session
        Effect.flatMap(get(A), (value) => Effect.as(set(A, "new"), value)),
        // reads the store too (slow: 60 ms): its answer comes after the change above
        has(A)
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(seen, Option.some("old"))
      assert.isTrue(present)
      assert.deepStrictEqual(yield* get(A), Option.some("new"))
      yield* handle.commit
      assert.deepStrictEqual(yield* manager.begin(token).session.get(A), Option.some("new"))
    }).pipe(Effect.provide(Session.layer().pipe(Layer.provide(slowFinds([0, 60]))))))

  it.effect("values of non-JSON types (a DateTime, a Date, an Option) are saved in a form they can be read back from", () =>
    Effect.gen(function*() {
      const At = Session.key("at", Schema.DateTimeUtc)
      const When = Session.key("when", Schema.Struct({ day: Schema.Date, note: Schema.Option(Schema.String) }))
      const manager = yield* Session.SessionManager
      const first = manager.begin(undefined)
      const at = DateTime.makeUnsafe(1_700_000_000_000)
      yield* first.session.set(At, at)
      yield* first.session.set(When, { day: new Date(86_400_000), note: Option.some("n") })
      const result = yield* first.commit
      assert.strictEqual(result._tag, "SetCookie")
      const next = manager.begin(result._tag === "SetCookie" ? result.token : "")
      const read = yield* next.session.get(At)
      assert.strictEqual(DateTime.toEpochMillis(Option.getOrThrow(read)), 1_700_000_000_000)
      const when = Option.getOrThrow(yield* next.session.get(When))
      assert.strictEqual(when.day.getTime(), 86_400_000)
      assert.deepStrictEqual(when.note, Option.some("n"))
    }).pipe(Effect.provide(Session.layer().pipe(Layer.provide(MemStore.layer())))))

  it.effect("invalid options fail the layer with InvalidOptions naming what to change", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(
          Session.layer({ cookie: { name: "__Host-session", domain: "example.com" } }).pipe(
            Layer.provide(MemStore.layer())
          )
        )
      )
      assert.strictEqual(error._tag, "SessionError")
      assert.strictEqual(error._tag === "SessionError" ? error.reason : "", "InvalidOptions")
      assert.include(error.message, "no domain")
      // browsers match cookie prefixes in any letter case, and an injected attribute is caught when the layer is built
      for (
        const cookie of [
          { name: "__HOST-session", domain: "example.com" },
          { name: "__secure-session", secure: false },
          { domain: "example.com; SameSite=None" },
          { path: "/app; Domain=evil.example" }
        ]
      ) {
        const refused = yield* Effect.flip(Layer.build(Session.layer({ cookie }).pipe(Layer.provide(MemStore.layer()))))
        assert.strictEqual(
          refused._tag === "SessionError" ? refused.reason : "",
          "InvalidOptions",
          JSON.stringify(cookie)
        )
      }
      const lifetime = yield* Effect.flip(Session.resolveOptions({ lifetime: "0 seconds" }))
      assert.include(lifetime.message, "lifetime must be a positive, finite duration")
      const idle = yield* Effect.flip(Session.resolveOptions({ idleTimeout: -5 }))
      assert.include(idle.message, "idleTimeout must be a positive, finite duration")
    }).pipe(Effect.scoped))

  it.effect("a key's schema changed: Decode by default; with onDecodeError \"absent\" get reads None and pop drops it", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const token = yield* seed // a = "old", a string
      const strict = Session.key("a", Schema.Number)
      const lenient = Session.key("a", Schema.Number, { onDecodeError: "absent" })
      const first = manager.begin(token)
      const error = yield* Effect.flip(first.session.get(strict))
      assert.strictEqual(error.reason, "Decode")
      assert.strictEqual(error.key, "a")
      assert.deepStrictEqual(yield* first.session.get(lenient), Option.none())
      assert.isTrue(yield* first.session.has(lenient), "get leaves the stored value as it is")
      assert.deepStrictEqual(yield* first.session.pop(lenient), Option.none())
      assert.isFalse(yield* first.session.has(lenient), "pop removes the undecodable value")
      yield* first.commit
      assert.deepStrictEqual(yield* manager.begin(token).session.keys, [])
    }).pipe(Effect.provide(SessionLive)))

  it.effect("a key written as an object literal works as one made by Session.key (a SessionKey is its name and schema)", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const made = Session.key("at", Schema.Date)
      const literal: Session.SessionKey<Date, unknown> = { name: "at", schema: Schema.Date }
      const when = new Date(1_700_000_000_000)
      const first = manager.begin(undefined)
      yield* first.session.set(literal, when)
      const result = yield* first.commit
      const token = result._tag === "SetCookie" ? result.token : ""
      const second = manager.begin(token)
      assert.strictEqual(Option.getOrThrow(yield* second.session.get(made)).getTime(), when.getTime())
      assert.strictEqual(Option.getOrThrow(yield* second.session.get(literal)).getTime(), when.getTime())
      const wrong = yield* Effect.flip(second.session.set(literal, "not a date" as unknown as Date))
      assert.strictEqual(wrong.reason, "Encode")
      assert.strictEqual(wrong.key, "at")
    }).pipe(Effect.provide(SessionLive)))

  it.live(
    "a commit stuck on a stalled store holds the session's next commit for at most its turn's wait",
    () =>
      Effect.gen(function*() {
        const stalled = yield* Deferred.make<void>()
        const resume = yield* Deferred.make<void>()
        yield* Effect.gen(function*() {
          const manager = yield* Session.SessionManager
          const token = yield* seed
          const first = manager.begin(token)
          const second = manager.begin(token)
          yield* first.session.set(A, "first")
          yield* second.session.set(B, 2)
          // the first commit takes the session's turn, then its write stalls
          const stuck = yield* Effect.forkChild(first.commit)
          yield* Deferred.await(stalled)
          // the second waits for the turn (TURN_WAIT_MS), then goes ahead without it
          const result = yield* second.commit
          assert.strictEqual(result._tag, "SetCookie")
          assert.isUndefined(stuck.pollUnsafe(), "the first commit is still stuck")
          yield* Deferred.succeed(resume, undefined)
          // its write meets the second's: it reads the record again and merges (the conditional write decides)
          assert.strictEqual((yield* Fiber.join(stuck))._tag, "SetCookie")
          const after = manager.begin(token)
          assert.deepStrictEqual(yield* after.session.get(A), Option.some("first"))
          assert.deepStrictEqual(yield* after.session.get(B), Option.some(2))
        }).pipe(Effect.provide(Session.layer().pipe(Layer.provide(stallFirstSave(stalled, resume)))))
      }),
    10_000
  )
})
