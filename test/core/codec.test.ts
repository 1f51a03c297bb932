/**
 * The session record codec: the bytes `Session` stores.
 */
import { assert, describe, it } from "vitest"
import * as Codec from "../../src/core/codec.js"

const values = (entries: Record<string, unknown>) => new Map(Object.entries(entries))
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")

describe("codec", () => {
  it("format version 1: the version byte, then the JSON of deadline, expiry, remember-me and values", () => {
    const bytes = Codec.encode({ deadline: 2000, expiry: 1500, rememberMe: true, values: values({ a: 1, b: "x" }) })
    assert.strictEqual(bytes[0], Codec.VERSION)
    assert.strictEqual(text(bytes.subarray(1)), "{\"d\":2000,\"e\":1500,\"r\":1,\"v\":{\"a\":1,\"b\":\"x\"}}")
    const plain = Codec.encode({ deadline: 2000, expiry: 2000, rememberMe: false, values: values({}) })
    assert.strictEqual(text(plain.subarray(1)), "{\"d\":2000,\"e\":2000,\"v\":{}}")
  })

  it("round-trips values of every JSON shape, keys that need escaping, and __proto__", () => {
    const record = {
      deadline: 1e12,
      expiry: 1e12 - 5,
      rememberMe: false,
      values: values({ s: "é \"q\" \u2028", n: -1.5, t: true, z: null, a: [1, [2]], o: { k: { j: [] } }, "we\"ird": 1 })
    }
    const decoded = Codec.decode(Codec.encode(record))
    assert.strictEqual(decoded._tag, "Ok")
    if (decoded._tag !== "Ok") return
    assert.strictEqual(decoded.record.deadline, record.deadline)
    assert.strictEqual(decoded.record.expiry, record.expiry)
    assert.isFalse(decoded.record.rememberMe)
    assert.deepStrictEqual(decoded.record.values, Object.fromEntries(record.values))
    const proto = Codec.decode(Codec.encode({ ...record, values: values({ ["__proto__"]: { polluted: true } }) }))
    assert.strictEqual(proto._tag, "Ok")
    if (proto._tag === "Ok") {
      assert.deepStrictEqual(Object.keys(proto.record.values), ["__proto__"])
      assert.isUndefined(({} as Record<string, unknown>)["polluted"])
    }
  })

  it("a value without a JSON form (undefined) is left out, as JSON.stringify would", () => {
    const bytes = Codec.encode({ deadline: 1, expiry: 1, rememberMe: false, values: values({ a: undefined, b: 2 }) })
    assert.strictEqual(text(bytes.subarray(1)), "{\"d\":1,\"e\":1,\"v\":{\"b\":2}}")
  })

  it("a value JSON refuses throws UnencodableValue with its key", () => {
    const cycle: Record<string, unknown> = {}
    cycle["self"] = cycle
    for (const bad of [1n, cycle]) {
      try {
        Codec.encode({ deadline: 1, expiry: 1, rememberMe: false, values: values({ ok: 1, bad }) })
        assert.fail("expected a throw")
      } catch (error) {
        assert.instanceOf(error, Codec.UnencodableValue)
        assert.strictEqual((error as Codec.UnencodableValue).key, "bad")
      }
    }
  })

  it("anything else is Corrupt with a reason, never a throw", () => {
    const corrupt = (bytes: Uint8Array) => {
      const result = Codec.decode(bytes)
      assert.strictEqual(result._tag, "Corrupt")
      return result._tag === "Corrupt" ? result.reason : ""
    }
    const v1 = (json: string) => Buffer.concat([Buffer.from([1]), Buffer.from(json, "utf8")])
    assert.strictEqual(corrupt(new Uint8Array()), "empty record")
    assert.strictEqual(corrupt(new Uint8Array([2, 123, 125])), "unknown format version 2")
    assert.strictEqual(corrupt(Buffer.from([1, 0xff, 0xfe])), "not valid UTF-8 JSON")
    assert.strictEqual(corrupt(v1("{")), "not valid UTF-8 JSON")
    assert.strictEqual(corrupt(v1("[]")), "not an object")
    assert.strictEqual(corrupt(v1("{\"e\":1,\"v\":{}}")), "missing deadline")
    assert.strictEqual(corrupt(v1("{\"d\":1,\"v\":{}}")), "missing expiry")
    assert.strictEqual(corrupt(v1("{\"d\":1,\"e\":1,\"v\":[]}")), "missing values")
    assert.strictEqual(corrupt(v1("{\"d\":1,\"e\":1,\"r\":true,\"v\":{}}")), "bad remember-me flag")
    assert.strictEqual(corrupt(v1("{\"d\":\"1\",\"e\":1,\"v\":{}}")), "missing deadline")
  })

  it("decodes from a view into a larger buffer (the codec's output comes from Node's pool)", () => {
    const bytes = Codec.encode({ deadline: 5, expiry: 5, rememberMe: false, values: values({ a: 1 }) })
    const padded = new Uint8Array(bytes.length + 10)
    padded.set(bytes, 5)
    assert.strictEqual(Codec.decode(padded.subarray(5, 5 + bytes.length))._tag, "Ok")
  })
})
