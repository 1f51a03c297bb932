/**
 * The commit, without Effect: the store commands the generator yields for each state a session can be in at the
 * end of a request, run against a small versioned map that keeps the store contract (load / saveIf / touch /
 * delete), with other requests' writes injected between commands to make the races of issue 13 happen on purpose.
 * The HTTP-level tests (test/concurrency.test.ts) run the same races through real servers and engines.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import * as Codec from "../../src/core/codec.js"
import { backoff, BACKOFF_BASE, BACKOFF_CAP } from "../../src/core/commands.js"
import {
  type Answer,
  type Command,
  CommitConflict,
  type CommitResult,
  CommitRun,
  MAX_ATTEMPTS
} from "../../src/core/commit.js"
import { type SessionConfig, SessionState } from "../../src/core/sessionState.js"
import { ModelStore } from "./modelStore.js"

const NOW = 1_000_000
const HOUR = 3_600_000
const TOKEN = "T".repeat(43)
const config: SessionConfig = {
  lifetime: 24 * HOUR,
  idleTimeout: undefined,
  touchAfter: 0,
  renewGrace: 5_000,
  persist: true,
  hashTokenInStore: true
}
const sha = (token: string) => createHash("sha256").update(token).digest("base64url")
const KEY = sha(TOKEN)

const record = (values: Record<string, unknown>, deadline = NOW + 24 * HOUR, rememberMe = false) =>
  Codec.encode({ deadline, expiry: deadline, rememberMe, values: new Map(Object.entries(values)) })

/** A store holding one session under TOKEN, and a request's state loaded from it. */
const setup = (values: Record<string, unknown> = { a: "x" }, options: Partial<SessionConfig> = {}) => {
  const store = new ModelStore()
  store.save(KEY, record(values), NOW + (options.idleTimeout ?? 24 * HOUR))
  return { store, state: request(store, options) }
}

const request = (store: ModelStore, options: Partial<SessionConfig> = {}, token = TOKEN, now = NOW) => {
  const state = new SessionState({ ...config, ...options }, token)
  assert.isUndefined(state.loadFrom(store.load(state.lookup!, now), now))
  return state
}

/** Runs a commit to its end; `between(i)` runs before the i-th command (another request's doing). */
const commit = (
  state: SessionState,
  store: ModelStore,
  options: {
    readonly now?: number
    readonly aborted?: boolean
    readonly stale?: boolean
    readonly between?: (i: number) => void
  } = {}
): { readonly result: CommitResult; readonly run: CommitRun } => {
  const now = options.now ?? NOW
  const run = new CommitRun(state, now, options.aborted)
  run.stale = options.stale === true
  let answer: Answer = undefined
  for (let i = 0;; i++) {
    const step = run.steps.next(answer)
    if (step.done) return { result: step.value, run }
    options.between?.(i)
    answer = store.run(step.value, now)
  }
}

describe("SessionState: loading", () => {
  it("a live record is adopted; an unknown key, a past deadline or a renew's marker is a fresh session", () => {
    const { state } = setup({ a: "x" })
    assert.deepStrictEqual(state.keys(), ["a"])
    assert.strictEqual(state.token, TOKEN)

    const store = new ModelStore()
    assert.isUndefined(request(store).token)
    store.save(KEY, record({ a: "x" }, NOW), NOW + HOUR)
    assert.isUndefined(request(store).token, "deadline passed")
    store.save(KEY, Codec.encodeMarker("elsewhere", NOW + 5000), NOW + 5000)
    const marked = request(store)
    assert.isUndefined(marked.token, "a marker is not a session")
    assert.deepStrictEqual(marked.keys(), [])
  })

  it("corrupt bytes: the reason, and the state stays unloaded", () => {
    const state = new SessionState(config, TOKEN)
    assert.isString(state.loadFrom({ data: new Uint8Array([9, 9]), version: "v", expiry: NOW + HOUR }, NOW))
    assert.isFalse(state.loaded)
    assert.isTrue(state.loadFailed)
  })

  it("older releases read a marker as a session past its deadline (codec fields d=0, e, v present)", () => {
    const json = JSON.parse(Buffer.from(Codec.encodeMarker("k", NOW)).subarray(1).toString("utf8"))
    assert.deepStrictEqual(json, { d: 0, e: NOW, m: "k", v: {} })
  })
})

describe("commit: one request at a time", () => {
  it("an unchanged session without idle timeout: no store command, no cookie", () => {
    const { state, store } = setup()
    store.log.length = 0
    assert.deepStrictEqual(commit(state, store).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(store.log, [])
  })

  it("a change is one conditional write (no extra read) and sends the cookie", () => {
    const { state, store } = setup({ a: "x" })
    state.set("b", "y", NOW)
    store.log.length = 0
    const { result } = commit(state, store)
    assert.deepStrictEqual(store.log, ["SaveIf"])
    assert.strictEqual(result._tag, "SetCookie")
    assert.deepStrictEqual(store.values(KEY), { a: "x", b: "y" })
  })

  it("a new session is saved only if its key is absent, under a new token", () => {
    const store = new ModelStore()
    const state = new SessionState(config, undefined)
    state.loadFrom(undefined, NOW)
    state.set("a", 1, NOW)
    const { result } = commit(state, store)
    assert.strictEqual(result._tag, "SetCookie")
    const token = (result as { token: string }).token
    assert.notStrictEqual(token, TOKEN)
    assert.deepStrictEqual(store.values(sha(token)), { a: 1 })
    assert.strictEqual(state.token, token)
  })

  it("a deadline moved into the past ends the session: deleted, cookie expired", () => {
    const { state, store } = setup()
    state.setDeadline(NOW - 1, NOW)
    assert.deepStrictEqual(commit(state, store).result, { _tag: "ExpireCookie" })
    assert.deepStrictEqual(store.sessions(), [])
  })

  it("renew: the new record saved first, the old one replaced by a marker; the old token finds nothing", () => {
    const { state, store } = setup({ cart: [1] })
    state.renew(NOW)
    const { result } = commit(state, store)
    assert.strictEqual(result._tag, "SetCookie")
    const token = (result as { token: string }).token
    assert.deepStrictEqual(store.values(sha(token)), { cart: [1] })
    assert.isUndefined(request(store).token, "old token")
    assert.deepStrictEqual(store.sessions(), [sha(token)])
  })

  it("destroy: deleted, cookie expired; a destroy without a cookie does not expire one", () => {
    const { state, store } = setup()
    state.destroy()
    assert.deepStrictEqual(commit(state, store).result, { _tag: "ExpireCookie" })
    assert.deepStrictEqual(store.sessions(), [])
  })

  it("destroy then set: the old session deleted, a fresh one saved under a new token", () => {
    const { state, store } = setup({ a: "x" })
    state.destroy()
    state.set("b", "y", NOW)
    const { result } = commit(state, store)
    const token = (result as { token: string }).token
    assert.deepStrictEqual(store.values(sha(token)), { b: "y" })
    assert.deepStrictEqual(store.sessions(), [sha(token)])
  })

  it("a client that hung up: only a destroy is carried out", () => {
    const a = setup({ a: "x" })
    a.state.set("b", "y", NOW)
    a.state.renew(NOW)
    assert.deepStrictEqual(commit(a.state, a.store, { aborted: true }).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(a.store.values(KEY), { a: "x" }, "untouched")
    const b = setup()
    b.state.destroy()
    commit(b.state, b.store, { aborted: true })
    assert.deepStrictEqual(b.store.sessions(), [])
  })
})

describe("commit: idle timeout", () => {
  const idle = { idleTimeout: HOUR, touchAfter: 60_000 }

  it("an unchanged session is touched (expiry only, version kept) once the expiry moves by touchAfter", () => {
    const { state, store } = setup({ a: "x" }, idle)
    const before = store.entries.get(KEY)!
    const later = NOW + 120_000
    const { result } = commit(state, store, { now: later })
    const after = store.entries.get(KEY)!
    assert.strictEqual(after.version, before.version)
    assert.strictEqual(after.data, before.data)
    assert.strictEqual(after.expiry, later + HOUR)
    assert.strictEqual(result._tag, "SetCookie", "a persistent cookie gets its new lifetime")
  })

  it("within touchAfter of the last write: no store command, no cookie", () => {
    const store = new ModelStore()
    store.save(KEY, record({ a: "x" }), NOW + HOUR)
    const state = request(store, idle, TOKEN, NOW + 30_000)
    store.log.length = 0
    assert.deepStrictEqual(commit(state, store, { now: NOW + 30_000 }).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(store.log, [])
  })

  it("a browser-session cookie is not sent again by a touch", () => {
    const { state, store } = setup({ a: "x" }, { ...idle, persist: false })
    assert.deepStrictEqual(commit(state, store, { now: NOW + 120_000 }).result, { _tag: "Unchanged" })
    assert.strictEqual(store.entries.get(KEY)!.expiry, NOW + 120_000 + HOUR)
  })
})

describe("commit: overlapping requests of one session", () => {
  it("two requests setting different keys: both land (the second re-reads and merges)", () => {
    const { store } = setup({ a: "x" })
    const first = request(store)
    const second = request(store)
    first.set("b", 1, NOW)
    second.set("c", 2, NOW)
    commit(first, store)
    store.log.length = 0
    assert.strictEqual(commit(second, store).result._tag, "SetCookie")
    assert.deepStrictEqual(store.log, ["SaveIf", "Backoff", "Load", "SaveIf"])
    assert.deepStrictEqual(store.values(KEY), { a: "x", b: 1, c: 2 })
  })

  it("the same key: the later commit wins, for that key only; remove and clear merge too", () => {
    const { store } = setup({ a: "x", b: "old", c: "keep" })
    const first = request(store)
    const second = request(store)
    first.set("b", "first", NOW)
    first.set("d", "d", NOW)
    second.set("b", "second", NOW)
    second.remove("a", NOW)
    commit(first, store)
    commit(second, store)
    assert.deepStrictEqual(store.values(KEY), { b: "second", c: "keep", d: "d" })
    const third = request(store)
    const fourth = request(store)
    third.clear(NOW)
    third.set("z", 1, NOW)
    fourth.set("y", 2, NOW)
    commit(fourth, store)
    commit(third, store)
    assert.deepStrictEqual(store.values(KEY), { z: 1 }, "clear removes what was there at commit, keeps its own sets")
  })

  it("logout sticks: a request that loaded before the destroy writes nothing and sends no cookie", () => {
    const { store } = setup({ user: "ann" })
    const slow = request(store)
    const logout = request(store)
    slow.set("cart", [1], NOW)
    logout.destroy()
    commit(logout, store)
    assert.deepStrictEqual(commit(slow, store).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(store.sessions(), [])
  })

  it("logout sticks against an idle extension: the touch of a reader that loaded earlier does nothing", () => {
    const { store } = setup({ user: "ann" }, { idleTimeout: HOUR })
    const reader = request(store, { idleTimeout: HOUR })
    const logout = request(store)
    logout.destroy()
    commit(logout, store)
    assert.deepStrictEqual(commit(reader, store, { now: NOW + 120_000 }).result, { _tag: "Unchanged" })
    assert.deepStrictEqual([...store.entries.keys()], [])
  })

  it("a reader's touch never reverts a write made since it loaded", () => {
    const { store } = setup({ n: 1 }, { idleTimeout: HOUR })
    const reader = request(store, { idleTimeout: HOUR })
    const writer = request(store, { idleTimeout: HOUR })
    writer.set("n", 2, NOW)
    commit(writer, store)
    commit(reader, store, { now: NOW + 120_000 })
    assert.deepStrictEqual(store.values(KEY), { n: 2 })
  })

  it("renew while a request of the old token is in flight: its write follows into the renewed session, no cookie", () => {
    const { store } = setup({ user: "ann" })
    const slow = request(store)
    const login = request(store)
    login.renew(NOW)
    const renewed = commit(login, store).result as { token: string }
    slow.set("cart", [1], NOW)
    assert.deepStrictEqual(commit(slow, store).result, { _tag: "Unchanged" }, "never the new token")
    assert.deepStrictEqual(store.values(sha(renewed.token)), { user: "ann", cart: [1] })
    assert.isUndefined(request(store).token, "the old token finds nothing")
  })

  it("past the grace window the marker is gone and the late write is dropped", () => {
    const { store } = setup({ user: "ann" })
    const slow = request(store)
    const login = request(store)
    login.renew(NOW)
    const renewed = commit(login, store).result as { token: string }
    slow.set("cart", [1], NOW)
    commit(slow, store, { now: NOW + 6_000 })
    assert.deepStrictEqual(store.values(sha(renewed.token)), { user: "ann" })
  })

  it("a renew that meets a write re-merges it; one that meets a destroy does not happen and leaves no orphan", () => {
    const a = setup({ user: "ann" })
    const renewing = request(a.store)
    const writer = request(a.store)
    renewing.renew(NOW)
    writer.set("cart", [1], NOW)
    const result = commit(renewing, a.store, { between: (i) => i === 1 && void commit(writer, a.store) })
      .result as { token: string }
    assert.deepStrictEqual(a.store.values(sha(result.token)), { user: "ann", cart: [1] })
    assert.deepStrictEqual(a.store.sessions(), [sha(result.token)])

    const b = setup({ user: "ann" })
    const renew2 = request(b.store)
    const logout = request(b.store)
    renew2.renew(NOW)
    logout.destroy()
    const out = commit(renew2, b.store, { between: (i) => i === 1 && void commit(logout, b.store) })
    assert.deepStrictEqual(out.result, { _tag: "Unchanged" })
    assert.deepStrictEqual([...b.store.entries.keys()], [], "no orphan")
  })

  it("two renews race: the later merges its changes into the first's session, no cookie, no orphan", () => {
    const { store } = setup({ user: "ann" })
    const first = request(store)
    const second = request(store)
    first.renew(NOW)
    second.renew(NOW)
    second.set("cart", [1], NOW)
    const won = commit(first, store).result as { token: string }
    assert.deepStrictEqual(commit(second, store).result, { _tag: "Unchanged" }, "never the other renew's token")
    assert.deepStrictEqual(store.values(sha(won.token)), { user: "ann", cart: [1] })
    assert.deepStrictEqual(store.sessions(), [sha(won.token)], "no orphan")
  })

  it("a destroy racing a renew follows the marker: both records gone", () => {
    const { store } = setup({ user: "ann" })
    const logout = request(store)
    const login = request(store)
    login.renew(NOW)
    commit(login, store)
    logout.destroy()
    commit(logout, store)
    assert.deepStrictEqual(store.sessions(), [])
  })

  it("a renew whose commit fails midway names the orphan for the runner to delete", () => {
    const { state, store } = setup({ user: "ann" })
    state.renew(NOW)
    const run = new CommitRun(state, NOW)
    const first = run.steps.next(undefined).value as Command
    assert.strictEqual(first._tag, "SaveIf")
    store.run(first, NOW)
    assert.strictEqual(run.orphan, (first as { key: string }).key)
    // the store fails on the marker swap: the runner deletes the orphan, the old session is intact
    assert.deepStrictEqual(store.values(KEY), { user: "ann" })
  })

  it("conflicts on every attempt: CommitConflict after MAX_ATTEMPTS writes", () => {
    const { store } = setup({ n: 0 })
    const state = request(store)
    state.set("mine", 1, NOW)
    let writes = 0
    assert.throws(
      () =>
        commit(state, store, {
          between: () => {
            writes++
            const entry = store.entries.get(KEY)!
            store.save(KEY, entry.data, entry.expiry)
          }
        }),
      CommitConflict
    )
    assert.isAtLeast(writes, MAX_ATTEMPTS)
    // every retry waited a random time first, the bound doubling up to the cap
    const waits = store.log.filter((tag) => tag === "Backoff").length
    assert.strictEqual(waits, MAX_ATTEMPTS - 1)
  })

  it("backoff: full jitter under a bound that doubles from BACKOFF_BASE up to BACKOFF_CAP", () => {
    const bound = (attempt: number) => (backoff(attempt, () => 0.999999) as { millis: number }).millis
    assert.strictEqual(bound(1), BACKOFF_BASE - 1)
    assert.strictEqual(bound(2), 2 * BACKOFF_BASE - 1)
    assert.strictEqual(bound(30), BACKOFF_CAP - 1)
    assert.strictEqual((backoff(5, () => 0) as { millis: number }).millis, 0)
    // the total wait of a commit that gives up stays near a second
    let total = 0
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) total += bound(attempt) + 1
    assert.isBelow(total, 1000)
  })
})

describe("commit: a turn after another commit of the session (stale, see commitQueue.ts)", () => {
  it("reads the record first and merges into it: no write that must fail, no backoff", () => {
    const { store } = setup({ a: "x" })
    const first = request(store)
    const second = request(store)
    first.set("b", 1, NOW)
    second.set("c", 2, NOW)
    commit(first, store)
    store.log.length = 0
    assert.strictEqual(commit(second, store, { stale: true }).result._tag, "SetCookie")
    assert.deepStrictEqual(store.log, ["Load", "SaveIf"])
    assert.deepStrictEqual(store.values(KEY), { a: "x", b: 1, c: 2 })
  })

  it("a stale hint that was wrong costs one read, nothing else", () => {
    const { state, store } = setup({ a: "x" })
    state.set("b", 1, NOW)
    assert.strictEqual(commit(state, store, { stale: true }).result._tag, "SetCookie")
    assert.deepStrictEqual(store.log.slice(-2), ["Load", "SaveIf"])
    assert.deepStrictEqual(store.values(KEY), { a: "x", b: 1 })
  })

  it("logout sticks: the session destroyed meanwhile takes no write and gets no cookie", () => {
    const { store } = setup({ a: "x" })
    const logout = request(store)
    const writer = request(store)
    logout.destroy()
    writer.set("b", 1, NOW)
    commit(logout, store)
    store.log.length = 0
    assert.deepStrictEqual(commit(writer, store, { stale: true }).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(store.log, ["Load"])
    assert.isFalse(store.entries.has(KEY))
  })

  it("renewed meanwhile: merges into the renewed session without learning its token", () => {
    const { store } = setup({ a: "x" })
    const renewer = request(store)
    const writer = request(store)
    renewer.renew(NOW)
    writer.set("b", 1, NOW)
    const renewed = commit(renewer, store).result
    assert.strictEqual(renewed._tag, "SetCookie")
    const newKey = sha((renewed as { token: string }).token)
    assert.deepStrictEqual(commit(writer, store, { stale: true }).result, { _tag: "Unchanged" })
    assert.deepStrictEqual(store.values(newKey), { a: "x", b: 1 })
  })
})
