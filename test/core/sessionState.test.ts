/**
 * One request's session state without Effect: what loading adopts, what each operation changes, and what a commit
 * writes.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import * as Codec from "../../src/core/codec.js"
import type { Plan } from "../../src/core/commit.js"
import { type SessionConfig, SessionState } from "../../src/core/sessionState.js"

const NOW = 1_000_000
const HOUR = 3_600_000
const TOKEN = "T".repeat(43)
const config: SessionConfig = { lifetime: 24 * HOUR, idleTimeout: undefined, persist: true, hashTokenInStore: true }
const sha = (token: string) => createHash("sha256").update(token).digest("base64url")

const record = (values: Record<string, unknown>, deadline = NOW + HOUR, expiry = deadline, rememberMe = false) =>
  Codec.encode({ deadline, expiry, rememberMe, values: new Map(Object.entries(values)) })

const loaded = (values: Record<string, unknown> = { a: "x" }, options: Partial<SessionConfig> = {}) => {
  const state = new SessionState({ ...config, ...options }, TOKEN)
  assert.isUndefined(state.loadFrom(record(values), NOW))
  return state
}

const savePlan = (state: SessionState, now = NOW): Extract<Plan, { _tag: "Save" }> => {
  const plan = state.plan(now)
  if (plan._tag !== "Save") throw new Error(`expected a Save plan, got ${plan._tag}`)
  return plan
}

describe("SessionState: the cookie and the lookup", () => {
  it("a well-formed cookie is looked up under its hash (or itself with hashTokenInStore: false)", () => {
    assert.strictEqual(new SessionState(config, TOKEN).lookup, sha(TOKEN))
    assert.strictEqual(new SessionState({ ...config, hashTokenInStore: false }, TOKEN).lookup, TOKEN)
  })

  it("a malformed cookie is never looked up, but counts as a cookie; no cookie is neither", () => {
    for (const value of ["", "short", "A".repeat(44), "%41".repeat(43), "A".repeat(42) + "="]) {
      const state = new SessionState(config, value)
      assert.isUndefined(state.lookup, value)
      assert.isUndefined(state.cookieToken)
      assert.isTrue(state.hadCookie)
    }
    const none = new SessionState(config, undefined)
    assert.isUndefined(none.lookup)
    assert.isFalse(none.hadCookie)
  })
})

describe("SessionState: loading", () => {
  it("a live record is adopted: token, deadline, remember-me, values", () => {
    const state = new SessionState(config, TOKEN)
    assert.isUndefined(state.loadFrom(record({ a: 1, b: [true] }, NOW + HOUR, NOW + 60_000, true), NOW))
    assert.isTrue(state.loaded)
    assert.strictEqual(state.token, TOKEN)
    assert.strictEqual(state.deadline, NOW + HOUR)
    assert.isTrue(state.rememberMe)
    assert.deepStrictEqual(state.keys(), ["a", "b"])
    assert.deepStrictEqual(state.value("b"), [true])
    assert.strictEqual(state.status, "unmodified")
  })

  it("nothing found, or an expired record (deadline or expiry): a fresh session, the token never adopted", () => {
    for (const bytes of [undefined, record({ a: 1 }, NOW), record({ a: 1 }, NOW + HOUR, NOW - 1)]) {
      const state = new SessionState(config, TOKEN)
      assert.isUndefined(state.loadFrom(bytes, NOW))
      assert.isTrue(state.loaded)
      assert.isUndefined(state.token)
      assert.strictEqual(state.deadline, NOW + config.lifetime)
      assert.deepStrictEqual(state.keys(), [])
    }
  })

  it("corrupt bytes: the reason, and the state stays unloaded", () => {
    const state = new SessionState({ ...config, idleTimeout: HOUR }, TOKEN)
    assert.strictEqual(state.loadFrom(new Uint8Array([9, 1, 2]), NOW), "unknown format version 9")
    assert.isFalse(state.loaded)
    assert.isTrue(state.loadFailed)
    assert.deepStrictEqual(state.plan(NOW), { _tag: "Nothing" }, "the commit does not read the bytes again")
  })

  it("store failures: only the request's first is to be logged; one during the load stops the commit's read", () => {
    const state = new SessionState({ ...config, idleTimeout: HOUR }, TOKEN)
    assert.deepStrictEqual(state.plan(NOW), { _tag: "Load" })
    assert.isTrue(state.storeFailed("load"))
    assert.isFalse(state.storeFailed("other"))
    assert.isFalse(state.storeFailed("load"))
    assert.deepStrictEqual(state.plan(NOW), { _tag: "Nothing" })
    const writer = new SessionState(config, undefined)
    assert.isTrue(writer.storeFailed("other"))
    assert.isFalse(writer.loadFailed)
  })

  it("a key named __proto__ is an ordinary value", () => {
    const state = new SessionState(config, TOKEN)
    assert.isUndefined(state.loadFrom(Buffer.from("\u0001{\"d\":2000000,\"e\":2000000,\"v\":{\"__proto__\":1}}"), NOW))
    assert.deepStrictEqual(state.keys(), ["__proto__"])
    assert.strictEqual(state.value("__proto__"), 1)
  })

  it("once loaded, a later answer (a slower concurrent read) changes nothing", () => {
    const state = loaded({ a: "first" })
    state.set("a", "changed", NOW)
    assert.isUndefined(state.loadFrom(record({ a: "second" }), NOW))
    assert.strictEqual(state.value("a"), "changed")
  })
})

describe("SessionState: operations", () => {
  it("reads change nothing; a change marks the session modified", () => {
    const state = loaded({ a: "x" })
    state.has("a")
    state.value("a")
    state.keys()
    state.remove("missing", NOW)
    assert.strictEqual(state.status, "unmodified", "reads, and removing a missing key, are no change")
    state.clear(NOW)
    assert.strictEqual(state.status, "modified")
    const empty = loaded({})
    empty.clear(NOW)
    assert.strictEqual(empty.status, "unmodified", "clearing an empty session is no change")
  })

  it("pop: the value is taken out; a failed decode puts it back unless something replaced it", () => {
    const state = loaded({ a: "x" })
    const encoded = state.take("a")
    assert.strictEqual(encoded, "x")
    assert.isFalse(state.has("a"))
    state.popped("a", encoded, false, NOW)
    assert.strictEqual(state.value("a"), "x")
    assert.strictEqual(state.status, "unmodified")
    state.take("a")
    state.set("a", "replaced", NOW)
    state.popped("a", "x", false, NOW)
    assert.strictEqual(state.value("a"), "replaced")
    state.take("a")
    state.popped("a", "replaced", true, NOW)
    assert.isFalse(state.has("a"))
  })

  it("renew after the delete: no token, a fresh deadline, the data kept", () => {
    const state = loaded({ a: "x" })
    state.deleted(TOKEN)
    state.renewed(NOW + 5)
    assert.isUndefined(state.token)
    assert.strictEqual(state.deadline, NOW + 5 + config.lifetime)
    assert.strictEqual(state.value("a"), "x")
    assert.strictEqual(state.status, "modified")
  })

  it("destroy, then a change: a fresh session (no values, not remembered, a new deadline)", () => {
    const state = new SessionState(config, TOKEN)
    state.loadFrom(record({ a: "x", b: 2 }, NOW + HOUR, NOW + HOUR, true), NOW)
    state.deleted(TOKEN)
    state.destroyed()
    assert.strictEqual(state.status, "destroyed")
    assert.deepStrictEqual(state.keys(), [])
    assert.isFalse(state.rememberMe)
    state.set("c", 3, NOW + 10)
    assert.strictEqual(state.status, "modified")
    assert.deepStrictEqual(state.keys(), ["c"])
    assert.strictEqual(state.deadline, NOW + 10 + config.lifetime)
  })

  it("deleted only forgets the token it names", () => {
    const state = loaded()
    state.deleted("other")
    assert.strictEqual(state.token, TOKEN)
  })
})

describe("SessionState: writing at commit", () => {
  it("a stored session is saved under its own token's hash, with the record that loads back", () => {
    const state = loaded({ a: "x" }, { idleTimeout: HOUR })
    state.set("b", [1, 2], NOW)
    state.setRememberMe(true, NOW)
    const plan = savePlan(state)
    const write = state.write(plan)
    assert.strictEqual(write.token, TOKEN)
    assert.strictEqual(write.key, sha(TOKEN))
    const decoded = Codec.decode(write.bytes)
    assert.deepStrictEqual(decoded, {
      _tag: "Ok",
      record: { deadline: NOW + HOUR, expiry: NOW + HOUR, rememberMe: true, values: { a: "x", b: [1, 2] } }
    })
    state.committed(write.token)
    assert.strictEqual(state.status, "unmodified")
  })

  it("a new session gets a new, well-formed token at each write", () => {
    const state = new SessionState(config, undefined)
    state.loadFrom(undefined, NOW)
    state.set("a", 1, NOW)
    const first = state.write(savePlan(state))
    const second = state.write(savePlan(state))
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/)
    assert.notStrictEqual(first.token, second.token)
    assert.strictEqual(first.key, sha(first.token))
  })

  it("a value JSON cannot hold throws UnencodableValue naming its key", () => {
    const state = loaded()
    state.set("big", 1n, NOW)
    assert.throws(() => state.write(savePlan(state)), Codec.UnencodableValue, "\"big\"")
  })
})
