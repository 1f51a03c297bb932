import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as Tracer from "effect/Tracer"
import * as MemStore from "../src/MemStore.js"
import * as Store from "../src/Store.js"
import { storeConformance } from "./conformance.js"

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
    }))

  it.effect("maxSessions evicts the entry closest to its expiry, not the least recently used", () =>
    Effect.gen(function*() {
      const store = yield* MemStore.make({ maxSessions: 3, cleanupInterval: 0 })
      yield* store.save("soon", data, at(100))
      yield* store.save("later", data, at(500))
      yield* store.save("latest", data, at(900))
      // touching "soon" does not protect it: it is still the closest to its expiry
      assert.isTrue(Option.isSome(yield* store.find("soon")))
      yield* store.save("new", data, at(300))
      assert.strictEqual(yield* store.size, 3)
      assert.isTrue(Option.isNone(yield* store.find("soon")))
      for (const token of ["later", "latest", "new"]) assert.isTrue(Option.isSome(yield* store.find(token)))
      // replacing an existing token never evicts
      yield* store.save("new", data, at(950))
      assert.strictEqual(yield* store.size, 3)
      assert.isTrue(Option.isSome(yield* store.find("later")))
    }).pipe(Effect.scoped))

  it.effect(
    "a sweep of many expired entries leaves the live ones and yields between slices",
    () =>
      Effect.gen(function*() {
        const store = yield* MemStore.make({ cleanupInterval: "1 second" })
        for (let i = 0; i < 200_000; i++) yield* store.save(`e-${i}`, data, at(1 + (i % 50)))
        yield* store.save("alive", data, at(10_000))
        yield* TestClock.adjust("100 seconds")
        // the sweep runs in slices separated by event-loop turns; let it finish
        while ((yield* store.size) > 1) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        assert.isTrue(Option.isSome(yield* store.find("alive")))
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
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
      yield* traced.delete("a").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(names, ["SessionStore.save", "SessionStore.find", "SessionStore.delete"])
    }).pipe(Effect.scoped))
})
