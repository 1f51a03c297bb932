/**
 * The conformance suite every `SessionStore` engine runs: the contract in `src/Store.ts` (Effect 4 line; the Effect 3 line runs the same checks from the root `test/conformance.ts`), checked against a real
 * backend.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Store from "../src/Store.js"

export interface ConformanceOptions {
  /**
   * `"test"`: the engine's expiry follows the Effect `Clock`, so the expiry tests advance `TestClock`.
   * `"live"`: the backend expires entries on its own wall clock (Redis); the expiry tests sleep for real.
   */
  readonly clock: "test" | "live"
}

const bytes = (text: string) => new TextEncoder().encode(text)
const filled = (length: number, seed: number) => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff
  return out
}

const inFuture = (duration: Duration.Input) => Effect.map(DateTime.now, (now) => DateTime.addDuration(now, duration))

const findBytes = (token: string) => Store.find(token).pipe(Effect.map(Option.getOrUndefined))

/**
 * Registers the conformance tests for an engine. `makeLayer` is called once per test and must return a fresh,
 * empty store (for a shared backend: a fresh key prefix or folder).
 */
export const storeConformance = <E>(
  name: string,
  makeLayer: () => Layer.Layer<Store.SessionStore, E>,
  options: ConformanceOptions
) => {
  const test = options.clock === "test" ? it.effect : it.live
  const run = <A, E2>(self: Effect.Effect<A, E2, Store.SessionStore>) =>
    Effect.scoped(Effect.provide(self, makeLayer()))

  describe(`${name}: SessionStore conformance`, () => {
    test("save then find returns equal bytes", () =>
      run(Effect.gen(function*() {
        yield* Store.save("t1", bytes("hello"), yield* inFuture("1 hour"))
        assert.deepStrictEqual(yield* findBytes("t1"), bytes("hello"))
      })))

    test("an unknown token is None, not an error", () =>
      run(Effect.gen(function*() {
        assert.isTrue(Option.isNone(yield* Store.find("never-saved")))
      })))

    test("a second save replaces data and expiry", () =>
      run(Effect.gen(function*() {
        yield* Store.save("t", bytes("first, and longer"), yield* inFuture("1 hour"))
        yield* Store.save("t", bytes("second"), yield* inFuture("2 hours"))
        assert.deepStrictEqual(yield* findBytes("t"), bytes("second"))
        // a later save that shortens the expiry takes effect too
        yield* Store.save("t", bytes("third"), yield* inFuture("1 hour"))
        assert.deepStrictEqual(yield* findBytes("t"), bytes("third"))
      })))

    test("delete removes, and deleting twice or an unknown token succeeds", () =>
      run(Effect.gen(function*() {
        yield* Store.save("t", bytes("x"), yield* inFuture("1 hour"))
        yield* Store.save("other", bytes("y"), yield* inFuture("1 hour"))
        yield* Store.delete("t")
        assert.isTrue(Option.isNone(yield* Store.find("t")))
        yield* Store.delete("t")
        yield* Store.delete("unknown")
        assert.deepStrictEqual(yield* findBytes("other"), bytes("y"))
      })))

    test("an expiry in the past or equal to now stores nothing and removes what was there", () =>
      run(Effect.gen(function*() {
        const now = yield* DateTime.now
        yield* Store.save("past", bytes("x"), DateTime.subtract(now, { seconds: 1 }))
        assert.isTrue(Option.isNone(yield* Store.find("past")))
        yield* Store.save("t", bytes("x"), yield* inFuture("1 hour"))
        yield* Store.save("t", bytes("x"), yield* DateTime.now)
        assert.isTrue(Option.isNone(yield* Store.find("t")))
        const live = yield* Stream.runCollect(Store.all)
        assert.strictEqual(live.length, 0)
      })))

    if (options.clock === "test") {
      test("an entry is found just before its expiry and gone at and after it (TestClock)", () =>
        run(Effect.gen(function*() {
          yield* Store.save("t", bytes("x"), yield* inFuture("10 seconds"))
          yield* TestClock.adjust("9999 millis")
          assert.deepStrictEqual(yield* findBytes("t"), bytes("x"))
          yield* TestClock.adjust("1 millis")
          assert.isTrue(Option.isNone(yield* Store.find("t")))
          yield* TestClock.adjust("1 hour")
          assert.isTrue(Option.isNone(yield* Store.find("t")))
        })))
    } else {
      test("an entry is found before its expiry and gone after it (wall clock)", () =>
        run(Effect.gen(function*() {
          yield* Store.save("t", bytes("x"), yield* inFuture("1500 millis"))
          assert.deepStrictEqual(yield* findBytes("t"), bytes("x"))
          yield* Effect.sleep("1700 millis")
          assert.isTrue(Option.isNone(yield* Store.find("t")))
        })))
    }

    test("bytes are copied in and out", () =>
      run(Effect.gen(function*() {
        const input = bytes("original")
        yield* Store.save("t", input, yield* inFuture("1 hour"))
        input.fill(0)
        const out = (yield* findBytes("t"))!
        assert.deepStrictEqual(out, bytes("original"))
        out.fill(0)
        assert.deepStrictEqual(yield* findBytes("t"), bytes("original"))
        const [[, streamed]] = (yield* Stream.runCollect(Store.all)) as any
        streamed.fill(0)
        assert.deepStrictEqual(yield* findBytes("t"), bytes("original"))
      })))

    test("found bytes own their memory: no view into memory that holds other sessions' bytes", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("neighbour", bytes("someone else's session"), expiry)
        yield* Store.save("t", bytes("mine"), expiry)
        const out = (yield* findBytes("t"))!
        // `.buffer` is reachable from any Uint8Array: it must hold these bytes and nothing else
        assert.strictEqual(out.byteOffset, 0)
        assert.strictEqual(out.buffer.byteLength, out.byteLength)
        const [first] = (yield* Stream.runCollect(Store.all)) as any
        assert.strictEqual(first[1].buffer.byteLength, first[1].byteLength)
      })))

    test("empty data, binary data with zero bytes, and a 1 MiB payload round-trip", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        const binary = new Uint8Array([0, 255, 0, 1, 0, 0, 128, 10, 13, 0])
        const big = filled(1024 * 1024, 3)
        yield* Store.save("empty", new Uint8Array(0), expiry)
        yield* Store.save("binary", binary, expiry)
        yield* Store.save("big", big, expiry)
        const empty = yield* Store.find("empty")
        assert.isTrue(Option.isSome(empty))
        assert.strictEqual(Option.getOrThrow(empty).length, 0)
        assert.deepStrictEqual(yield* findBytes("binary"), binary)
        const found = (yield* findBytes("big"))!
        assert.strictEqual(found.length, big.length)
        assert.isTrue(Buffer.from(found).equals(Buffer.from(big)))
      })))

    test("10,000 distinct tokens are each found with their own bytes", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        const tokens = Array.from({ length: 10_000 }, (_, i) => `token-${i}`)
        yield* Effect.forEach(tokens, (token, i) => Store.save(token, bytes(`value-${i}`), expiry), {
          concurrency: 64,
          discard: true
        })
        const found = yield* Effect.forEach(tokens, findBytes, { concurrency: 64 })
        found.forEach((value, i) => assert.deepStrictEqual(value, bytes(`value-${i}`)))
        const all = yield* Stream.runCollect(Store.all)
        assert.strictEqual(all.length, 10_000)
      })), { timeout: 120_000 })

    test("200 concurrent saves to one token leave exactly one of the written values, whole", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        const values = Array.from({ length: 200 }, (_, i) => filled(4096 + i, i))
        yield* Effect.forEach(values, (value) => Store.save("contended", value, expiry), {
          concurrency: "unbounded",
          discard: true
        })
        const found = (yield* findBytes("contended"))!
        const matches = values.filter((value) => Buffer.from(value).equals(Buffer.from(found)))
        assert.strictEqual(matches.length, 1)
      })))

    test(
      "arbitrary tokens and payloads are stored exactly or refused with a typed error; neighbours stay intact",
      () =>
        run(Effect.gen(function*() {
          const context = yield* Effect.context<Store.SessionStore>()
          const expiry = yield* inFuture("1 hour")
          const token = fc.oneof(
            fc.string({ unit: "binary", maxLength: 64 }),
            fc.string({ unit: "grapheme", maxLength: 32 }),
            fc.string({ minLength: 1000, maxLength: 5000 })
          )
          const payload = fc.oneof(
            fc.uint8Array({ maxLength: 512 }),
            fc.uint8Array({ minLength: 60_000, maxLength: 70_000 })
          )
          const stored = new Map<string, Uint8Array>()
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(fc.tuple(token, payload), { minLength: 1, maxLength: 8 }), async (batch) => {
                await Effect.runPromiseWith(context)(Effect.gen(function*() {
                  for (const [t, data] of batch) {
                    const exit = yield* Effect.exit(Store.save(t, data, expiry))
                    if (Exit.isSuccess(exit)) stored.set(t, data)
                    else {
                      const error = Cause.findErrorOption(exit.cause)
                      assert.isTrue(Option.isSome(error), `a defect saving a token of ${t.length} characters`)
                      assert.strictEqual(Option.getOrThrow(error)._tag, "SessionStoreError")
                    }
                  }
                  // every entry saved so far, from this batch and earlier ones, reads back exactly
                  for (const [t, data] of stored) {
                    const found = yield* Store.find(t)
                    assert.isTrue(Option.isSome(found), `token of ${t.length} characters went missing`)
                    assert.isTrue(Buffer.from(Option.getOrThrow(found)).equals(Buffer.from(data)))
                  }
                }))
              }),
              { numRuns: 40 }
            )
          )
          // and one 16 MiB value beside them
          const big = filled(16 * 1024 * 1024, 9)
          const exit = yield* Effect.exit(Store.save("sixteen-mib", big, expiry))
          if (Exit.isSuccess(exit)) {
            assert.isTrue(Buffer.from((yield* findBytes("sixteen-mib"))!).equals(Buffer.from(big)))
          } else {
            assert.strictEqual(Option.getOrThrow(Cause.findErrorOption(exit.cause))._tag, "SessionStoreError")
          }
          for (const [t, data] of stored) {
            assert.isTrue(Buffer.from((yield* findBytes(t))!).equals(Buffer.from(data)))
          }
        })),
      { timeout: 120_000 }
    )

    test("all yields exactly the live entries", () =>
      run(Effect.gen(function*() {
        const now = yield* DateTime.now
        const live = Array.from({ length: 50 }, (_, i) => [`live-${i}`, bytes(`v${i}`)] as const)
        for (const [token, data] of live) yield* Store.save(token, data, DateTime.add(now, { hours: 1 }))
        yield* Store.save("deleted", bytes("d"), DateTime.add(now, { hours: 1 }))
        yield* Store.delete("deleted")
        yield* Store.save("expired-at-save", bytes("e"), DateTime.subtract(now, { milliseconds: 1 }))
        const short = options.clock === "test" ? { seconds: 5 } : { milliseconds: 1200 }
        yield* Store.save("short", bytes("s"), DateTime.add(now, short))
        if (options.clock === "test") yield* TestClock.adjust("6 seconds")
        else yield* Effect.sleep("1500 millis")
        const all = yield* Stream.runCollect(Store.all)
        const sorted = [...all].sort(([a], [b]) => a.localeCompare(b))
        const expected = [...live].sort(([a], [b]) => a.localeCompare(b))
        assert.deepStrictEqual(sorted.map(([t]) => t), expected.map(([t]) => t))
        sorted.forEach(([, data], i) => assert.deepStrictEqual(data, expected[i]![1]))
      })))
  })
}
