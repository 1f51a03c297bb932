/**
 * RedisStore's conditional operations, the parts that need no server (`src/core/redisScripts.ts`): versions, TTLs,
 * and how script replies become results. The scripts themselves run against real servers in RedisStore.test.ts.
 */
import { ReplyError } from "ioredis"
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import { RedisFailure } from "../../src/core/redisErrors.js"
import {
  isNoScript,
  LOAD,
  millisToLive,
  NO_EXPIRY_MILLIS,
  SAVE_IF,
  toApplied,
  toLoaded,
  TOUCH,
  versionOf
} from "../../src/core/redisScripts.js"

/** The `RedisFailure` that `evaluate` throws. */
const thrown = (evaluate: () => unknown): RedisFailure => {
  try {
    evaluate()
  } catch (error) {
    assert.instanceOf(error, RedisFailure)
    return error as RedisFailure
  }
  return assert.fail("expected a RedisFailure, nothing was thrown")
}

describe("versionOf", () => {
  it("is the lower-case hex SHA-1 of exactly the bytes of the view (what redis.sha1hex answers)", () => {
    assert.strictEqual(versionOf(new Uint8Array(0)), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    assert.strictEqual(versionOf(new TextEncoder().encode("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d")
    const backing = new Uint8Array([9, 9, 97, 98, 99, 9])
    assert.strictEqual(versionOf(backing.subarray(2, 5)), "a9993e364706816aba3e25717850c26c9cd0d89d")
  })

  it("each script is known by the SHA-1 of its source, and touches one key only (KEYS[1])", () => {
    for (const script of [LOAD, SAVE_IF, TOUCH]) {
      assert.strictEqual(script.sha, createHash("sha1").update(script.lua).digest("hex"))
      assert.notMatch(script.lua, /KEYS\[[2-9]/)
    }
    assert.strictEqual(new Set([LOAD.sha, SAVE_IF.sha, TOUCH.sha]).size, 3)
  })
})

describe("millisToLive", () => {
  it("is the time left, rounded up to a whole millisecond: a fraction left keeps the entry", () => {
    assert.strictEqual(millisToLive(1_000, 400), 600)
    assert.strictEqual(millisToLive(1_000.25, 1_000), 1)
    assert.strictEqual(millisToLive(1_000, 1_000), 0)
    assert.isAtMost(millisToLive(1_000, 5_000), 0)
    assert.isTrue(Number.isInteger(millisToLive(8_640_000_000_000_000, 0.5)))
  })
})

describe("toLoaded", () => {
  it("a nil reply is no entry; {value, pttl} is a copy of the bytes, their version, and now + pttl", () => {
    assert.isUndefined(toLoaded(null, 5_000))
    const value = Buffer.from("hello")
    const loaded = toLoaded([value, 1_500], 5_000)!
    assert.deepStrictEqual(loaded.data, new TextEncoder().encode("hello"))
    assert.strictEqual(Object.getPrototypeOf(loaded.data), Uint8Array.prototype)
    assert.notStrictEqual(loaded.data.buffer, value.buffer)
    assert.strictEqual(loaded.version, versionOf(value))
    assert.strictEqual(loaded.expiryMillis, 6_500)
  })

  it("a key without a TTL (pttl -1) expires at the last Date", () => {
    assert.strictEqual(toLoaded([Buffer.from("x"), -1], 5_000)!.expiryMillis, NO_EXPIRY_MILLIS)
    assert.strictEqual(new Date(NO_EXPIRY_MILLIS).getTime(), NO_EXPIRY_MILLIS)
    assert.isNaN(new Date(NO_EXPIRY_MILLIS + 1).getTime())
  })

  it("any other reply is an Io failure of load", () => {
    for (const reply of [1, "x", [Buffer.from("x")], ["x", 1], [Buffer.from("x"), "1"]]) {
      const failure = thrown(() => toLoaded(reply, 0))
      assert.strictEqual(failure.reason, "Io")
      assert.strictEqual(failure.method, "load")
    }
  })
})

describe("toApplied and isNoScript", () => {
  it("1 and 0 are whether the condition held; anything else is an Io failure of the operation", () => {
    assert.isTrue(toApplied("touch", 1))
    assert.isFalse(toApplied("saveIf", 0))
    assert.strictEqual(thrown(() => toApplied("saveIf", "OK")).method, "saveIf")
    assert.strictEqual(thrown(() => toApplied("touch", null)).reason, "Io")
  })

  it("only Redis' NOSCRIPT error reply makes the script be sent in full", () => {
    assert.isTrue(isNoScript(new ReplyError("NOSCRIPT No matching script. Please use EVAL.")))
    assert.isFalse(isNoScript(new ReplyError("ERR Error running script")))
    assert.isFalse(isNoScript(new Error("NOSCRIPT but not a reply")))
    assert.isFalse(isNoScript("NOSCRIPT"))
  })
})
