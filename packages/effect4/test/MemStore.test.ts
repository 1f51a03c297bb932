import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Tracer from "effect/Tracer"
import { MAX_BINARY_LENGTH } from "../src/core/bytes.js"
import * as MemStore from "../src/MemStore.js"
import * as Store from "../src/Store.js"
import { storeConformance } from "../src/testing.js"

storeConformance("MemStore", () => MemStore.layer(), { clock: "test" })
storeConformance(
  "MemStore (cleanup disabled, bounded)",
  () => MemStore.layer({ cleanupInterval: 0, maxSessions: 20_000 }),
  {
    clock: "test"
  }
)

const data = new Uint8Array([1, 2, 3])
const at = (seconds: number) => DateTime.makeUnsafe(seconds * 1000)

describe("MemStore", () => {
  it.effect("cleanup physically removes expired entries on its interval", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make({ cleanupInterval: "1 minute" })
      for (let i = 0; i < 100; i++) yield* store.save(`short-${i}`, data, at(30))
      for (let i = 0; i < 10; i++) yield* store.save(`long-${i}`, data, at(3600))
      assert.strictEqual(yield* store.size, 110)
      yield* TestClock.adjust("59 seconds")
      assert.strictEqual(yield* store.size, 110, "no sweep before the interval")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* store.size, 10)
      assert.isTrue(Option.isSome(yield* store.find("long-3")))
    }).pipe(Effect.scoped))

  it.effect("cleanupInterval 0 runs no sweep, but expired entries are still never returned", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make({ cleanupInterval: 0 })
      for (let i = 0; i < 100; i++) yield* store.save(`s-${i}`, data, at(30))
      yield* TestClock.adjust("1 day")
      assert.strictEqual(yield* store.size, 100)
      assert.isTrue(Option.isNone(yield* store.find("s-1")))
      // the read itself drops the expired entry
      assert.strictEqual(yield* store.size, 99)
    }).pipe(Effect.scoped))

  it.effect("after the layer is released, advancing the clock runs no sweep and operations fail as Closed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const store = yield* MemStore.make({ cleanupInterval: "1 minute" }).pipe(Scope.provide(scope))
      yield* store.save("a", data, at(30))
      yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* store.size, 1, "no sweep ran after release")
      const error = yield* Effect.flip(store.find("a"))
      assert.strictEqual(error.reason, "Closed")
      const saveError = yield* Effect.flip(store.save("b", data, at(9999)))
      assert.strictEqual(saveError._tag, "SessionStoreError")
      assert.include(saveError.message, "closed")
      for (
        const [method, effect] of [
          ["load", store.load("a")],
          ["saveIf", store.saveIf("b", data, at(9999), Option.none())],
          ["touch", store.touch("a", at(9999), "1")]
        ] as const
      ) {
        const error = yield* Effect.flip(effect as Effect.Effect<unknown, Store.SessionStoreError>)
        assert.strictEqual(error.reason, "Closed")
        assert.strictEqual(error.method, method)
      }
    }))

  it.effect("maxSessions: saveIf refuses a new entry when full (Full), while held entries are written and touched", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make({ maxSessions: 2, cleanupInterval: 0 })
      yield* store.save("a", data, at(60))
      yield* store.save("b", data, at(60))
      const full = yield* Effect.flip(store.saveIf("c", data, at(60), Option.none()))
      assert.strictEqual(full.reason, "Full")
      assert.strictEqual(full.method, "saveIf")
      assert.isTrue(Option.isNone(yield* store.find("c")))
      // a conflict is a conflict, full or not
      assert.isTrue(Option.isNone(yield* store.saveIf("a", data, at(60), Option.none())))
      const va = Option.getOrThrow(yield* store.load("a")).version
      const written = yield* store.saveIf("a", new Uint8Array([7]), at(120), Option.some(va))
      assert.isTrue(Option.isSome(written))
      assert.isTrue(yield* store.touch("a", at(600), Option.getOrThrow(written)))
      // removing through saveIf makes room
      const vb = Option.getOrThrow(yield* store.load("b")).version
      assert.isTrue(Option.isSome(yield* store.saveIf("b", data, at(0), Option.some(vb))))
      assert.isTrue(Option.isSome(yield* store.saveIf("c", data, at(60), Option.none())))
      // expired entries never count against the limit
      yield* TestClock.adjust("61 seconds")
      assert.isTrue(Option.isSome(yield* store.saveIf("d", data, at(3600), Option.none())))
      assert.strictEqual(yield* store.size, 2)
    }).pipe(Effect.scoped))

  it.effect("saveIf fails data above the limit with InvalidInput, like save, before looking at the entry", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make()
      const huge = { length: MAX_BINARY_LENGTH + 1 } as Uint8Array
      const error = yield* Effect.flip(store.saveIf("a", huge, at(60), Option.none()))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.strictEqual(error.method, "saveIf")
      assert.include(error.message, "limit")
      assert.isTrue(Option.isNone(yield* store.find("a")))
    }).pipe(Effect.scoped))

  it.effect("versions are base-36 counter values of the store, never given twice; a removal answers one nothing holds", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make()
      const versions = new Set<string>()
      for (let i = 0; i < 100; i++) {
        yield* store.save(`k-${i % 10}`, new Uint8Array([i]), at(60))
        const version = Option.getOrThrow(yield* store.load(`k-${i % 10}`)).version
        assert.match(version, /^[0-9a-z]+$/)
        assert.isFalse(versions.has(version))
        versions.add(version)
      }
      // a removal through saveIf answers a version nothing holds
      const held = Option.getOrThrow(yield* store.load("k-3")).version
      const removed = Option.getOrThrow(yield* store.saveIf("k-3", data, at(0), Option.some(held)))
      assert.isFalse(versions.has(removed))
      assert.isTrue(Option.isNone(yield* store.saveIf("k-4", data, at(60), Option.some(removed))))
    }).pipe(Effect.scoped))

  it.effect("maxSessions: a flood of new sessions cannot push out established ones; new ones are refused (Full)", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make({ maxSessions: 100, cleanupInterval: 0 })
      // 50 users log in (one-hour sessions)
      for (let i = 0; i < 50; i++) yield* store.save(`user-${i}`, data, at(3600))
      yield* TestClock.adjust("1 minute")
      // then 100 cookie-less requests each store a value in a fresh session (a CSRF token on a login form)
      let refused = 0
      for (let i = 0; i < 100; i++) {
        const exit = yield* Effect.exit(store.save(`visitor-${i}`, data, at(3600 + 60)))
        if (Exit.isFailure(exit)) {
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error.reason, "Full")
          refused++
        }
      }
      assert.strictEqual(refused, 50, "only the room left is given to new sessions")
      assert.strictEqual(yield* store.size, 100)
      for (let i = 0; i < 50; i++) {
        assert.isTrue(Option.isSome(yield* store.find(`user-${i}`)), `user-${i} is still logged in`)
        // an established session can still be saved again (its data or deadline changed)
        yield* store.save(`user-${i}`, new Uint8Array([9]), at(7200))
      }
      // once sessions expire, there is room again: expired ones never count against the limit
      yield* TestClock.adjust("1 hour")
      yield* store.save("after-the-flood", data, at(3600 * 3))
      assert.isTrue(Option.isSome(yield* store.find("after-the-flood")))
      // deleting frees room at once
      yield* store.delete("user-0")
      yield* store.save("next", data, at(3600 * 3))
    }).pipe(Effect.scoped))

  it.effect(
    "a sweep of many expired entries leaves the live ones and yields between slices",
    () =>
      Effect.gen(function*() {
        const store = yield* MemStore.make({ cleanupInterval: "1 second" })
        for (let i = 0; i < 50_000; i++) yield* store.save(`e-${i}`, data, at(1 + (i % 50)))
        yield* store.save("alive", data, at(10_000))
        yield* TestClock.adjust("100 seconds")
        // the sweep runs in slices separated by event-loop turns; let it finish
        while ((yield* store.size) > 1) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        assert.isTrue(Option.isSome(yield* store.find("alive")))
      }).pipe(Effect.scoped),
    { timeout: 180_000 } // the time depends on the machine: this checks the outcome, not the speed
  )

  it.effect("invalid options fail the layer with a typed InvalidInput error", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(Effect.scoped(MemStore.make({ maxSessions: -1 })))
      assert.strictEqual(bad.reason, "InvalidInput")
      assert.include(bad.message, "maxSessions")
      const badInterval = yield* Effect.flip(Effect.scoped(MemStore.make({ cleanupInterval: "soon" as any })))
      assert.strictEqual(badInterval.reason, "InvalidInput")
    }))

  it.effect("the layer provides both SessionStore and MemStore; accessors use the provided store", () =>
    Effect.gen(function*() {
      yield* Store.save("t", data, at(60))
      const mem = yield* MemStore.MemStore
      assert.strictEqual(yield* mem.size, 1)
      assert.deepStrictEqual(Option.getOrThrow(yield* Store.find("t")), data)
    }).pipe(Effect.provide(MemStore.layer())))
})

describe("Store.traced", () => {
  it.effect("adds one span per operation, named after it, when asked for", () =>
    Effect.gen(function*() {
      const names: Array<string> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span(options) {
          names.push(options.name)
          return base.span(options)
        },
        context: base.context
      })
      const plain = yield* MemStore.make()
      const traced = Store.traced(plain)
      const expiry = DateTime.makeUnsafe(DateTime.toEpochMillis(yield* DateTime.now) + 60_000)
      yield* plain.find("a").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(names, [], "engines add no spans of their own")
      yield* traced.save("a", new Uint8Array([1]), expiry).pipe(Effect.withTracer(tracer))
      yield* traced.find("a").pipe(Effect.withTracer(tracer))
      const entry = Option.getOrThrow(yield* traced.load("a").pipe(Effect.withTracer(tracer)))
      const version = yield* traced.saveIf("a", new Uint8Array([2]), expiry, Option.some(entry.version)).pipe(
        Effect.withTracer(tracer)
      )
      assert.isTrue(yield* traced.touch("a", expiry, Option.getOrThrow(version)).pipe(Effect.withTracer(tracer)))
      yield* traced.delete("a").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(names, [
        "SessionStore.save",
        "SessionStore.find",
        "SessionStore.load",
        "SessionStore.saveIf",
        "SessionStore.touch",
        "SessionStore.delete"
      ])
    }).pipe(Effect.scoped))
})
