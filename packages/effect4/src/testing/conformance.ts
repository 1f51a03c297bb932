/**
 * The conformance suite every `SessionStore` engine runs: the contract of `Store.SessionStoreService`, checked
 * against a real backend. The built-in engines run it in this repository's tests; a custom engine runs it from
 * `effect-session/testing`.
 *
 * @since 1.0.0
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
import * as Store from "../Store.js"

/**
 * @since 1.0.0
 * @category conformance
 */
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

/** The entry under `key`; fails the test when there is none. */
const loaded = (key: string) =>
  Effect.flatMap(Store.load(key), (entry) => {
    assert.isTrue(Option.isSome(entry), `load(${key}) found nothing`)
    return Effect.succeed(Option.getOrThrow(entry))
  })

/** The version `saveIf` answered; fails the test when it conflicted. */
const written = (answer: Option.Option<string>): string => {
  assert.isTrue(Option.isSome(answer), "saveIf conflicted")
  return Option.getOrThrow(answer)
}

/**
 * fast-check, an optional peer dependency: loaded by the one property test that needs it, so that the rest of
 * `effect-session/testing` works without it.
 */
const loadFastCheck = Effect.tryPromise({
  try: () => import("fast-check"),
  catch: (cause) =>
    new Error("the conformance suite needs fast-check, an optional peer dependency: npm install -D fast-check", {
      cause
    })
}).pipe(Effect.map((module) => module.default), Effect.orDie)

/**
 * Registers the conformance tests for an engine, in a `describe` block named `${name}: SessionStore conformance`:
 * every operation of the contract in `Store.SessionStoreService` (copies in and out, expiry, 10,000 tokens,
 * concurrent writers, arbitrary tokens and payloads, versions and the atomicity of `saveIf` and `touch`), against
 * the real backend. Call it at the top level of a vitest test file; it needs `@effect/vitest` and `fast-check`
 * (optional peer dependencies of this package).
 *
 * `makeLayer` is called once per test and must return a fresh, empty store (for a shared backend: a fresh key
 * prefix or folder). With `clock: "test"` the expiry checks advance `TestClock`; with `"live"` they sleep for
 * real, for backends that expire entries on their own clock. Each test has a timeout of 60 s (120 s for the 10,000
 * tokens and the arbitrary payloads), whatever vitest's default.
 *
 * @example
 * ```ts
 * import { MemStore } from "effect-session"
 * import { storeConformance } from "effect-session/testing"
 *
 * // your engine's layer in place of MemStore's: a fresh, empty store at each call
 * storeConformance("MemStore", () => MemStore.layer(), { clock: "test" })
 * ```
 *
 * @since 1.0.0
 * @category conformance
 */
export const storeConformance = <E>(
  name: string,
  makeLayer: () => Layer.Layer<Store.SessionStore, E>,
  options: ConformanceOptions
): void => {
  // vitest's default of 5 s per test is short for a remote backend: 60 s, and 120 s for the two largest tests
  const base = options.clock === "test" ? it.effect : it.live
  const test = <A, E2>(title: string, self: () => Effect.Effect<A, E2>, timeout = 60_000) => base(title, self, timeout)
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
      })), 120_000)

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
          const fc = yield* loadFastCheck
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
      120_000
    )

    // ---- load / saveIf / touch: versions and atomicity ----

    // a wall-clock backend may round what it holds to its own precision
    const sameExpiry = (actual: DateTime.Utc, expected: DateTime.Utc) => {
      const drift = Math.abs(DateTime.toEpochMillis(actual) - DateTime.toEpochMillis(expected))
      if (options.clock === "test") assert.strictEqual(drift, 0, "the expiry as saved")
      else assert.isAtMost(drift, 1000, "the expiry as saved")
    }

    test("load answers the bytes, a version and the expiry as saved; None for an unknown or expired key", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("t", bytes("hello"), expiry)
        const entry = yield* loaded("t")
        assert.deepStrictEqual(entry.data, bytes("hello"))
        assert.isString(entry.version)
        assert.isAbove(entry.version.length, 0)
        sameExpiry(entry.expiry, expiry)
        // the same entry, the same version
        assert.strictEqual((yield* loaded("t")).version, entry.version)
        // copied out: changing what load answered changes nothing stored
        entry.data.fill(0)
        assert.deepStrictEqual((yield* loaded("t")).data, bytes("hello"))
        assert.deepStrictEqual(yield* findBytes("t"), bytes("hello"))

        assert.isTrue(Option.isNone(yield* Store.load("never-saved")))
        yield* Store.save("past", bytes("x"), DateTime.subtract(yield* DateTime.now, { seconds: 1 }))
        assert.isTrue(Option.isNone(yield* Store.load("past")))
        yield* Store.save("deleted", bytes("x"), expiry)
        yield* Store.delete("deleted")
        assert.isTrue(Option.isNone(yield* Store.load("deleted")))
        if (options.clock === "test") {
          yield* Store.save("short", bytes("x"), yield* inFuture("10 seconds"))
          yield* TestClock.adjust("10 seconds")
        } else {
          yield* Store.save("short", bytes("x"), yield* inFuture("1 second"))
          yield* Effect.sleep("1200 millis")
        }
        assert.isTrue(Option.isNone(yield* Store.load("short")), "expired")
      })))

    test("every save and successful saveIf gives a new version; a touch keeps it", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        const seen = new Set<string>()
        const fresh = (version: string) => {
          assert.isFalse(seen.has(version), `version ${version} given twice`)
          seen.add(version)
          return version
        }
        yield* Store.save("t", bytes("one"), expiry)
        const v1 = fresh((yield* loaded("t")).version)
        yield* Store.save("t", bytes("two"), expiry)
        const v2 = fresh((yield* loaded("t")).version)
        const v3 = fresh(written(yield* Store.saveIf("t", bytes("three"), expiry, Option.some(v2))))
        const entry = yield* loaded("t")
        assert.strictEqual(entry.version, v3, "load shows the version saveIf answered")
        assert.deepStrictEqual(entry.data, bytes("three"))
        const v4 = fresh(written(yield* Store.saveIf("t", bytes("four"), expiry, Option.some(v3))))
        assert.isTrue(yield* Store.touch("t", yield* inFuture("2 hours"), v4))
        const touched = yield* loaded("t")
        assert.strictEqual(touched.version, v4, "a touch keeps the version")
        assert.deepStrictEqual(touched.data, bytes("four"))
        // and a saveIf with the version kept by the touch still writes
        fresh(written(yield* Store.saveIf("t", bytes("five"), expiry, Option.some(v4))))
        assert.strictEqual(seen.size, 5)
        assert.notStrictEqual(v1, v2)
      })))

    test("saveIf(None) writes only when no entry is live: an absent key, an expired entry; a live one conflicts", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        const v = written(yield* Store.saveIf("t", bytes("first"), expiry, Option.none()))
        const entry = yield* loaded("t")
        assert.strictEqual(entry.version, v)
        assert.deepStrictEqual(entry.data, bytes("first"))
        sameExpiry(entry.expiry, expiry)

        assert.isTrue(Option.isNone(yield* Store.saveIf("t", bytes("second"), expiry, Option.none())), "conflict")
        const after = yield* loaded("t")
        assert.strictEqual(after.version, v, "a conflict writes nothing")
        assert.deepStrictEqual(after.data, bytes("first"))

        if (options.clock === "test") {
          yield* Store.save("e", bytes("old"), yield* inFuture("10 seconds"))
          yield* TestClock.adjust("10 seconds")
        } else {
          yield* Store.save("e", bytes("old"), yield* inFuture("1 second"))
          yield* Effect.sleep("1200 millis")
        }
        const ve = written(yield* Store.saveIf("e", bytes("new"), yield* inFuture("1 hour"), Option.none()))
        const revived = yield* loaded("e")
        assert.strictEqual(revived.version, ve)
        assert.deepStrictEqual(revived.data, bytes("new"))
      })))

    test("saveIf(Some(v)) writes on the entry holding v; a stale, unknown or foreign version conflicts", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("t", bytes("base"), expiry)
        const v1 = (yield* loaded("t")).version
        const later = yield* inFuture("3 hours")
        const v2 = written(yield* Store.saveIf("t", bytes("mine"), later, Option.some(v1)))
        const entry = yield* loaded("t")
        assert.deepStrictEqual(entry.data, bytes("mine"))
        assert.strictEqual(entry.version, v2)
        sameExpiry(entry.expiry, later)

        for (const expected of [v1, `${v2}x`, "", "not a version"]) {
          const answer = yield* Store.saveIf("t", bytes("theirs"), expiry, Option.some(expected))
          assert.isTrue(Option.isNone(answer), `expected ${JSON.stringify(expected)} conflicts`)
        }
        const after = yield* loaded("t")
        assert.deepStrictEqual(after.data, bytes("mine"), "conflicts wrote nothing")
        assert.strictEqual(after.version, v2)
        assert.isTrue(Option.isNone(yield* Store.saveIf("missing", bytes("x"), expiry, Option.some(v2))))
        assert.isTrue(Option.isNone(yield* Store.find("missing")))
      })))

    test("after a delete, saveIf(Some(v)) conflicts and touch is refused; saveIf(None) writes", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("t", bytes("x"), expiry)
        const v = (yield* loaded("t")).version
        yield* Store.delete("t")
        assert.isTrue(Option.isNone(yield* Store.saveIf("t", bytes("y"), expiry, Option.some(v))))
        assert.isFalse(yield* Store.touch("t", yield* inFuture("2 hours"), v))
        assert.isTrue(Option.isNone(yield* Store.find("t")))
        written(yield* Store.saveIf("t", bytes("z"), expiry, Option.none()))
        assert.deepStrictEqual(yield* findBytes("t"), bytes("z"))
      })))

    test("saveIf with an expiry not after now removes the entry when the condition holds, and only then", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("t", bytes("x"), expiry)
        const v = (yield* loaded("t")).version
        const now = yield* DateTime.now
        assert.isTrue(Option.isNone(yield* Store.saveIf("t", bytes("y"), now, Option.none())), "a live entry: conflict")
        assert.isTrue(Option.isNone(yield* Store.saveIf("t", bytes("y"), now, Option.some(`${v}x`))), "stale")
        assert.deepStrictEqual(yield* findBytes("t"), bytes("x"), "conflicts removed nothing")
        written(yield* Store.saveIf("t", bytes("y"), now, Option.some(v)))
        assert.isTrue(Option.isNone(yield* Store.load("t")), "removed")
        // with nothing there, removing is a success that stores nothing
        written(yield* Store.saveIf("t", bytes("y"), DateTime.subtract(now, { seconds: 1 }), Option.none()))
        assert.isTrue(Option.isNone(yield* Store.load("t")))
        assert.isTrue(Option.isNone(yield* Store.saveIf("t", bytes("y"), expiry, Option.some(v))), "v is gone")
      })))

    test("touch is refused for a stale version or a missing key, and an expiry not after now removes the entry", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("t", bytes("one"), expiry)
        const v1 = (yield* loaded("t")).version
        yield* Store.save("t", bytes("two"), expiry)
        const v2 = (yield* loaded("t")).version
        assert.isFalse(yield* Store.touch("t", yield* inFuture("5 hours"), v1), "stale")
        assert.isFalse(yield* Store.touch("t", yield* inFuture("5 hours"), "not a version"), "foreign")
        assert.isFalse(yield* Store.touch("missing", yield* inFuture("5 hours"), v2), "missing")
        assert.isTrue(Option.isNone(yield* Store.find("missing")), "a refused touch creates nothing")
        const entry = yield* loaded("t")
        sameExpiry(entry.expiry, expiry)
        assert.strictEqual(entry.version, v2)
        assert.isTrue(yield* Store.touch("t", yield* DateTime.now, v2))
        assert.isTrue(Option.isNone(yield* Store.load("t")), "removed")
        assert.isFalse(yield* Store.touch("t", yield* inFuture("1 hour"), v2), "and it stays gone")
      })))

    if (options.clock === "test") {
      test("touch moves only the expiry: the entry outlives its old expiry and is gone after the new one (TestClock)", () =>
        run(Effect.gen(function*() {
          yield* Store.save("t", bytes("kept"), yield* inFuture("10 seconds"))
          const v = (yield* loaded("t")).version
          const later = yield* inFuture("60 seconds")
          assert.isTrue(yield* Store.touch("t", later, v))
          const entry = yield* loaded("t")
          assert.deepStrictEqual(entry.data, bytes("kept"))
          assert.strictEqual(entry.version, v)
          sameExpiry(entry.expiry, later)
          yield* TestClock.adjust("30 seconds")
          assert.deepStrictEqual(yield* findBytes("t"), bytes("kept"), "outlives its old expiry")
          yield* TestClock.adjust("29999 millis")
          assert.deepStrictEqual(yield* findBytes("t"), bytes("kept"))
          yield* TestClock.adjust("1 millis")
          assert.isTrue(Option.isNone(yield* Store.find("t")), "gone at the new expiry")
          // an expired entry cannot be touched back to life
          assert.isFalse(yield* Store.touch("t", yield* inFuture("1 hour"), v))
          assert.isTrue(Option.isNone(yield* Store.find("t")))
          // touch can shorten the expiry too
          yield* Store.save("s", bytes("s"), yield* inFuture("1 hour"))
          const vs = (yield* loaded("s")).version
          assert.isTrue(yield* Store.touch("s", yield* inFuture("5 seconds"), vs))
          yield* TestClock.adjust("5 seconds")
          assert.isTrue(Option.isNone(yield* Store.find("s")))
        })))
    } else {
      test("touch moves only the expiry: the entry outlives its old expiry and is gone after the new one (wall clock)", () =>
        run(Effect.gen(function*() {
          yield* Store.save("t", bytes("kept"), yield* inFuture("1 second"))
          const v = (yield* loaded("t")).version
          const later = yield* inFuture("2500 millis")
          assert.isTrue(yield* Store.touch("t", later, v))
          const entry = yield* loaded("t")
          assert.deepStrictEqual(entry.data, bytes("kept"))
          assert.strictEqual(entry.version, v)
          sameExpiry(entry.expiry, later)
          yield* Effect.sleep("1500 millis")
          assert.deepStrictEqual(yield* findBytes("t"), bytes("kept"), "outlives its old expiry")
          yield* Effect.sleep("1300 millis")
          assert.isTrue(Option.isNone(yield* Store.find("t")), "gone after the new expiry")
        })))
    }

    test("20 concurrent saveIf with the same expected version: exactly one writes, and the bytes are its own", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("contended", bytes("base"), expiry)
        const base = (yield* loaded("contended")).version
        const values = Array.from({ length: 20 }, (_, i) => filled(1000 + i, i))
        const answers = yield* Effect.forEach(
          values,
          (value) => Store.saveIf("contended", value, expiry, Option.some(base)),
          { concurrency: "unbounded" }
        )
        const winners = answers.flatMap((answer, i) => Option.isSome(answer) ? [i] : [])
        assert.strictEqual(winners.length, 1, `${winners.length} of 20 saveIf wrote`)
        const winner = winners[0]!
        const entry = yield* loaded("contended")
        assert.isTrue(Buffer.from(entry.data).equals(Buffer.from(values[winner]!)), "the winner's bytes, whole")
        assert.strictEqual(entry.version, Option.getOrThrow(answers[winner]!))

        // the same race to create an absent key
        const created = yield* Effect.forEach(
          values,
          (value) => Store.saveIf("created", value, expiry, Option.none()),
          { concurrency: "unbounded" }
        )
        const creators = created.flatMap((answer, i) => Option.isSome(answer) ? [i] : [])
        assert.strictEqual(creators.length, 1, `${creators.length} of 20 saveIf(None) wrote`)
        const stored = yield* loaded("created")
        assert.isTrue(Buffer.from(stored.data).equals(Buffer.from(values[creators[0]!]!)))
        assert.strictEqual(stored.version, Option.getOrThrow(created[creators[0]!]!))
      })))

    test("concurrent touches and saveIf on one version: the touches that win keep the version, one saveIf wins", () =>
      run(Effect.gen(function*() {
        const expiry = yield* inFuture("1 hour")
        yield* Store.save("k", bytes("base"), expiry)
        const base = (yield* loaded("k")).version
        const later = yield* inFuture("2 hours")
        const ops = Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? Effect.map(Store.touch("k", later, base), (done) => ({ touch: done, wrote: false }))
            : Effect.map(
              Store.saveIf("k", filled(100, i), expiry, Option.some(base)),
              (answer) => ({ touch: false, wrote: Option.isSome(answer) })
            ))
        const results = yield* Effect.all(ops, { concurrency: "unbounded" })
        assert.strictEqual(results.filter((r) => r.wrote).length, 1, "exactly one saveIf wrote")
        const entry = yield* loaded("k")
        assert.notStrictEqual(entry.version, base)
        assert.strictEqual(entry.data.length, 100)
      })))

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
