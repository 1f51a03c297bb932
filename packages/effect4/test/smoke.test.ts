import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { MemStore, Store } from "../src/index.js"

describe("smoke", () => {
  it.effect("MemStore save/find/expire", () =>
    Effect.gen(function*() {
      const expiry = DateTime.addDuration(yield* DateTime.now, Duration.seconds(10))
      yield* Store.save("a", new Uint8Array([1, 2, 3]), expiry)
      const found = yield* Store.find("a")
      assert.deepStrictEqual(Option.getOrThrow(found), new Uint8Array([1, 2, 3]))
      yield* TestClock.adjust(Duration.seconds(11))
      assert.isTrue(Option.isNone(yield* Store.find("a")))
    }).pipe(Effect.provide(MemStore.layer())))
})
