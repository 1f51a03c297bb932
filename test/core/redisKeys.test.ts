/**
 * RedisStore's keys, arguments, replies and client settings (`src/core/redisKeys.ts`, `redisCluster.ts`,
 * `redisClient.ts`): pure functions, no server.
 */
import { ReplyError } from "ioredis"
import { assert, describe, it } from "vitest"
import { clientDefaults, isRedisUrl, ownedClientOptions, storeSettings } from "../../src/core/redisClient.js"
import { SLOTS, uncoveredSlots } from "../../src/core/redisCluster.js"
import {
  copyReply,
  escapeGlob,
  keyspace,
  newTokens,
  nodeKey,
  pipelineReplies,
  toBytes,
  toValue
} from "../../src/core/redisKeys.js"

/** Redis' own glob matching (stringmatchlen) for the subset escapeGlob produces: literals, `\x` and a final `*`. */
const matches = (pattern: string, key: string): boolean => {
  let i = 0
  let k = 0
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c === "*" && i === pattern.length - 1) return true
    if (c === "*" || c === "?" || c === "[") throw new Error(`unescaped ${c} in ${pattern}`)
    const literal = c === "\\" ? pattern[++i]! : c
    if (key[k] !== literal) return false
    i++
    k++
  }
  return k === key.length
}

describe("keyspace", () => {
  it("escapes every glob character, so the pattern matches exactly the keys under the full prefix", () => {
    assert.strictEqual(escapeGlob("a*b?c[d]e\\f:"), "a\\*b\\?c\\[d\\]e\\\\f:")
    const space = keyspace("q?[ab]\\:", "app*:")
    assert.strictEqual(space.scanPrefix, "app*:q?[ab]\\:")
    assert.isTrue(matches(space.pattern, "app*:q?[ab]\\:token"))
    assert.isFalse(matches(space.pattern, "appx:qxa:token"))
    assert.isFalse(matches(space.pattern, "app*:qxa\\:token"))
    assert.strictEqual(keyspace("session:", undefined).pattern, "session:*")
  })

  it("newTokens: strips the prefix, skips foreign and repeated keys, and catches a node with another keyPrefix", () => {
    const space = keyspace("s:", "kp:")
    const seen = new Set<string>(["old"])
    assert.deepStrictEqual(newTokens(["kp:s:a", "other:b", "kp:s:old", "kp:s:a", "kp:s:c"], space, "kp:", seen), [
      "a",
      "c"
    ])
    assert.deepStrictEqual([...seen].sort(), ["a", "c", "old"])
    assert.strictEqual(newTokens(["kp:s:d"], space, "cluster:", new Set()), "keyPrefix")
    // the key argument that reads a token through a node whose client adds its own keyPrefix
    assert.strictEqual(nodeKey(space, "a", "kp:"), "s:a")
    assert.strictEqual(nodeKey(space, "a", ""), "kp:s:a")
  })
})

describe("values and replies", () => {
  it("toValue: ASCII as a string with the same bytes, anything else as a Buffer; always a copy", () => {
    const pool = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x7d, 0xff])
    const ascii = pool.subarray(0, 5)
    const value = toValue(ascii)
    assert.strictEqual(value, "{\"a\"}")
    assert.isTrue(Buffer.from(value as string, "latin1").equals(Buffer.from(ascii)))
    const binary = new Uint8Array([0, 1, 0xff, 0x80])
    const sent = toValue(binary)
    assert.instanceOf(sent, Buffer)
    binary[0] = 9
    assert.deepStrictEqual([...(sent as Buffer)], [0, 1, 0xff, 0x80])
    assert.strictEqual(toValue(new Uint8Array(0)), "")
  })

  it("copyReply / toBytes: a plain Uint8Array owning its memory, undefined for a missing key", () => {
    const chunk = Buffer.from("other session|mine|more")
    const view = chunk.subarray(14, 18)
    const copy = copyReply(view)
    assert.strictEqual(Object.getPrototypeOf(copy), Uint8Array.prototype)
    assert.strictEqual(copy.buffer.byteLength, 4)
    assert.deepStrictEqual(copy, new TextEncoder().encode("mine"))
    assert.isUndefined(toBytes(null))
    assert.deepStrictEqual(toBytes(view), copy)
  })

  it("pipelineReplies: found pairs, missing keys skipped, moved keys listed, the first other error returned", () => {
    const moved = new ReplyError("MOVED 12 127.0.0.1:7001")
    const replies = pipelineReplies(["a", "b", "c", "d"], [
      [null, Buffer.from("A")],
      [null, null],
      [moved, null],
      [null, Buffer.from("D")]
    ])
    assert.deepStrictEqual(replies.found, [["a", new Uint8Array([65])], ["d", new Uint8Array([68])]])
    assert.deepStrictEqual(replies.moved, ["c"])
    assert.isUndefined(replies.error)
    const failed = pipelineReplies(["a", "b"], [[null, Buffer.from("A")], [new ReplyError("WRONGTYPE x"), null]])
    assert.strictEqual(failed.error?.message, "WRONGTYPE x")
    // no reply at all (ioredis returns null for a pipeline that was discarded)
    assert.match(pipelineReplies(["a"], null).error?.message ?? "", /no reply/)
  })
})

describe("cluster coverage", () => {
  const table = (assign: (slot: number) => string | undefined) =>
    Array.from({ length: SLOTS }, (_, slot) => {
      const master = assign(slot)
      return master === undefined ? undefined : [master]
    })

  it("every slot served by a connected master: nothing uncovered", () => {
    const slots = table((slot) => `127.0.0.1:${7000 + (slot % 3)}`)
    assert.deepStrictEqual(uncoveredSlots(slots, new Set(["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"])), {
      slots: 0,
      missing: []
    })
  })

  it("a master without a connection, and slots without a master, are reported", () => {
    const slots = table((slot) => slot < 100 ? undefined : `127.0.0.1:${7000 + (slot % 3)}`)
    assert.deepStrictEqual(uncoveredSlots(slots, new Set(["127.0.0.1:7000", "127.0.0.1:7002"])), {
      slots: 100,
      missing: ["127.0.0.1:7001"]
    })
    assert.strictEqual(uncoveredSlots([], new Set()).slots, SLOTS)
  })
})

describe("client settings and option checks", () => {
  it("clientDefaults: fail fast, reconnect forever at most 1 second apart", () => {
    const defaults = clientDefaults(1500)
    assert.include(defaults, {
      connectTimeout: 1500,
      commandTimeout: 1500,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0
    })
    const retry = defaults.retryStrategy!
    assert.deepStrictEqual([1, 2, 3, 4, 5, 6, 100, 10_000].map((n) => retry(n)), [
      50,
      100,
      200,
      400,
      800,
      1000,
      1000,
      1000
    ])
    assert.strictEqual(clientDefaults().commandTimeout, 2000)
  })

  it("ownedClientOptions: auto-pipelining on, the user's options over the defaults", () => {
    const options = ownedClientOptions(1000, { enableAutoPipelining: false, db: 3, commandTimeout: 50 })
    assert.include(options, { enableAutoPipelining: false, db: 3, commandTimeout: 50, connectTimeout: 1000 })
    assert.strictEqual(ownedClientOptions(1000, undefined).enableAutoPipelining, true)
  })

  it("storeSettings: defaults, the timeout rounded up to whole milliseconds, and what is wrong", () => {
    assert.deepStrictEqual(storeSettings({}, 2000, "2 seconds"), {
      prefix: "session:",
      timeoutMs: 2000,
      scanCount: 1000
    })
    assert.deepStrictEqual(storeSettings({ prefix: "", scanCount: 7 }, 0.2, "0.2 millis"), {
      prefix: "",
      timeoutMs: 1,
      scanCount: 7
    })
    assert.notTypeOf(storeSettings({}, 2_147_483_647, "24 days"), "string")
    assert.include(storeSettings({ prefix: 42 }, 1000, "1 second"), "prefix must be a string, got 42")
    assert.include(storeSettings({}, 0, "0 millis"), "more than 0")
    assert.include(storeSettings({}, 2_147_483_648, "30 days"), "got 30 days")
    assert.include(storeSettings({ scanCount: 2.5 }, 1000, "1 second"), "scanCount must be a positive integer, got 2.5")
    assert.include(storeSettings({ scanCount: 0 }, 1000, "1 second"), "scanCount")
  })

  it("URL checks", () => {
    assert.isTrue(isRedisUrl("redis://user:pw@host:6379/0"))
    assert.isTrue(isRedisUrl("rediss://host"))
    assert.isFalse(isRedisUrl("http://127.0.0.1:6379"))
    assert.isFalse(isRedisUrl("not a url"))
    assert.isFalse(isRedisUrl(undefined))
  })
})
