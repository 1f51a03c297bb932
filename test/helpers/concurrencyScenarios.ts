/**
 * Concurrent requests of one session (issue 13), as scenarios with no Effect import: requests made to overlap on
 * purpose through a real HTTP server, on every engine, and a fast-check property of random interleavings checked
 * against a model of the merge rules. Each line's `concurrency.test.ts` serves the routes below on a
 * `NodeHttpServer` (one server per scenario and engine, with the scenario's session options) and drives the
 * property through its `SessionManager`.
 *
 * The routes (`GET`; every value is a `Schema.String` key named after the query's `k`):
 *
 * - `/login?user=U`: `renew`, then sets `user` to `U`.
 * - `/logout`: `destroy`.
 * - `/set?k=K&v=V[&read=1][&gate=G][&delay=ms]`: with `read=1`, reads the session first (so it is loaded before
 *   what follows); passes the gate `G`; sleeps `delay`; sets `K` to `V`.
 * - `/read[?delay=ms][&gate=G][&hold=ms]`: sleeps `delay`, reads the whole session, passes the gate `G`, sleeps
 *   `hold`, answers the session as JSON.
 * - `/renew[?gate=G][&delay=ms]`: `renew`, passes the gate `G`, sleeps `delay`.
 * - `/clear`: `clear`.
 * - `/none`: does not use the session.
 * - `/late?delay=ms`: reads the session, answers at once, and forks a daemon fiber that sleeps `delay`, sets
 *   `late`, and records `"saved"` or the `SessionError`'s reason in the harness's `late`.
 * - `/late-loop`: reads the session, answers at once, and forks a daemon fiber that sets `l0`, `l1`, ... (yielding
 *   between them) until a set fails, recording `"saved:lN"` for each set that succeeded and then the reason.
 *
 * A gate (`Gates`, shared by the test and its server, which run in one process) makes requests overlap in a chosen
 * order whatever the machine's load: the handler arrives at it and waits there until the test releases it.
 */
import fc from "fast-check"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import * as Codec from "../../src/core/codec.js"
import { FetchJar, type Reply, type RequestOptions } from "./jar.js"
import type { RedisServer } from "./redis.js"

export type Engine = "MemStore" | "FileStore" | "RedisStore"

/** Named gates: a handler `pass`es one (waiting there until the test `release`s it); the test awaits `arrived`. */
export class Gates {
  private readonly gates = new Map<
    string,
    { arrive: () => void; arrived: Promise<void>; release: () => void; released: Promise<void> }
  >()

  private gate(name: string) {
    let gate = this.gates.get(name)
    if (gate === undefined) {
      let arrive!: () => void
      let release!: () => void
      const arrived = new Promise<void>((resolve) => (arrive = resolve))
      const released = new Promise<void>((resolve) => (release = resolve))
      gate = { arrive, arrived, release, released }
      this.gates.set(name, gate)
    }
    return gate
  }

  /** The handler's side: marks the gate reached and resolves once the test releases it. */
  pass(name: string): Promise<void> {
    const gate = this.gate(name)
    gate.arrive()
    return gate.released
  }

  /** Resolves once a handler has reached the gate. */
  arrived(name: string): Promise<void> {
    return this.gate(name).arrived
  }

  release(name: string): void {
    this.gate(name).release()
  }
}

/** An entry as the engine holds it, read below the session layer (`Store.load`). */
export interface RawEntry {
  readonly version: string
  /** Epoch milliseconds. */
  readonly expiry: number
}

/** What a scenario can do besides HTTP requests, provided by the line's shell. */
export interface Harness {
  readonly base: string
  readonly engine: Engine
  /** `Store.load(key)` on the engine. */
  readonly entry: (key: string) => Promise<RawEntry | undefined>
  /** How many live entries the engine holds (`Store.all`; a fresh store, or the scenario's own Redis prefix). */
  readonly count: () => Promise<number>
  /** How many store operations reached the engine so far (`load` counts as `find`, `saveIf` as `save`). */
  readonly calls: { readonly find: number; readonly save: number; readonly touch: number; readonly delete: number }
  /** What the fibers forked by `/late` and `/late-loop` recorded, in order. */
  readonly late: ReadonlyArray<string>
  /** The server's log lines (level in capitals: `WARN`, `ERROR`). */
  readonly logs: ReadonlyArray<{ readonly level: string; readonly message: string }>
  /** The redis-server this file started (RedisStore only). */
  readonly redis: RedisServer | undefined
  /** The gates the server's handlers pass (`gate=` in a route's query). */
  readonly gates: Gates
}

export interface Scenario {
  readonly name: string
  /** The engines it runs on; all three when absent. */
  readonly engines?: ReadonlyArray<Engine>
  /** Session options in milliseconds, on top of the defaults (both lines accept numbers as milliseconds). */
  readonly options?: { readonly idleTimeout?: number; readonly touchAfter?: number; readonly renewGrace?: number }
  /** RedisStore's `timeout`, milliseconds (its default otherwise). */
  readonly redisTimeout?: number
  readonly timeout?: number
  readonly run: (h: Harness) => Promise<void>
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The store key of a token (the default `hashTokenInStore: true`). */
export const storeKey = (token: string): string => createHash("sha256").update(token).digest("base64url")

/** A request with exactly `token` as the session cookie (none when `undefined`), from a jar of its own. */
const call = (h: Harness, path: string, token?: string, init: RequestOptions = {}): Promise<Reply> =>
  new FetchJar(h.base).fetch(path, { ...init, cookie: token === undefined ? "" : `session=${token}` })

/** The session tokens a reply sets (a deletion cookie's empty value is not a token). */
const tokensSet = (reply: Reply): Array<string> =>
  reply.setCookies.flatMap((line) => {
    const m = /^session=([^;]*)/.exec(line)
    return m === null || m[1] === "" ? [] : [m[1]!]
  })

const issued = (reply: Reply): string => {
  const tokens = tokensSet(reply)
  assert.equal(tokens.length, 1, `expected one session cookie, got ${JSON.stringify(reply.setCookies)}`)
  return tokens[0]!
}

const read = async (h: Harness, token: string): Promise<Record<string, string>> => {
  const reply = await call(h, "/read", token)
  assert.equal(reply.status, 200, `/read answered ${reply.status}`)
  return JSON.parse(reply.body)
}

const login = async (h: Harness, user = "alice"): Promise<string> => {
  const reply = await call(h, `/login?user=${user}`)
  assert.equal(reply.status, 200)
  return issued(reply)
}

const set = async (h: Harness, token: string, k: string, v: string): Promise<void> => {
  const reply = await call(h, `/set?k=${k}&v=${v}`, token)
  assert.equal(reply.status, 200)
}

const waitUntil = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Retries `f` until it passes (a client reconnecting to a Redis that is back answers 503 for a moment). */
const eventually = async (what: string, f: () => Promise<void>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await f()
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(error)}`)
      await sleep(100)
    }
  }
}

const withRedisPaused = async <A>(h: Harness, f: () => Promise<A>): Promise<A> => {
  const redis = h.redis
  if (redis === undefined) throw new Error("this scenario needs the RedisStore engine")
  redis.pause()
  try {
    return await f()
  } finally {
    redis.resume()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the scenarios (the numbers are the list)

/**
 * N requests of one session that all load it, then commit at once, each adding its own key: every key lands, and
 * each request writes once (its commit takes its turn, and one that waited behind a write reads the record again
 * first, instead of trying a write that must fail: see core/commitQueue.ts).
 */
const concurrentWriters = async (h: Harness, n: number): Promise<void> => {
  const token = await login(h)
  const writesBefore = h.calls.save
  // all n load the same record, then commit at once
  const pending = Array.from({ length: n }, (_, i) => call(h, `/set?k=k${i}&v=${i}&read=1&gate=g${i}`, token))
  await Promise.all(pending.map((_, i) => h.gates.arrived(`g${i}`)))
  pending.forEach((_, i) => h.gates.release(`g${i}`))
  const replies = await Promise.all(pending)
  const stored = await read(h, token)
  // a request answered 200 has its key saved, whatever happened to the others
  replies.forEach((reply, i) => {
    if (reply.status === 200) assert.equal(stored[`k${i}`], String(i), `k${i} was answered 200 but is not saved`)
  })
  const errors = h.logs.filter((l) => l.level === "ERROR").map((l) => l.message)
  assert.deepEqual(
    replies.map((r) => r.status),
    replies.map(() => 200),
    `${errors.length} failed commits, the first: ${errors[0]}`
  )
  const expected: Record<string, string> = { user: "alice" }
  for (let i = 0; i < n; i++) expected[`k${i}`] = String(i)
  assert.deepEqual(stored, expected)
  assert.equal(h.calls.save - writesBefore, n, "conditional writes: one per request, none that failed")
}

export const concurrencyScenarios: ReadonlyArray<Scenario> = [
  {
    name: "1. two overlapping requests setting different keys both land; on one key the later commit wins",
    run: async (h) => {
      const token = await login(h)
      // both load the same record before either commits
      const a = call(h, "/set?k=a&v=1&read=1&gate=a", token)
      const b = call(h, "/set?k=b&v=2&read=1&gate=b", token)
      await Promise.all([h.gates.arrived("a"), h.gates.arrived("b")])
      h.gates.release("a")
      h.gates.release("b")
      assert.equal((await a).status, 200)
      assert.equal((await b).status, 200)
      assert.deepEqual(await read(h, token), { user: "alice", a: "1", b: "2" })

      // on one key, the request that commits later wins, whichever loaded first; other keys keep their values
      const first = call(h, "/set?k=a&v=first&read=1&gate=first", token)
      await h.gates.arrived("first")
      const second = call(h, "/set?k=a&v=second&read=1&gate=second", token)
      await h.gates.arrived("second")
      h.gates.release("second")
      assert.equal((await second).status, 200)
      h.gates.release("first")
      assert.equal((await first).status, 200)
      assert.deepEqual(await read(h, token), { user: "alice", a: "first", b: "2" })
    }
  },
  {
    name: "2. logout sticks: a slow request that loaded the session before the logout cannot bring it back",
    run: async (h) => {
      const token = await login(h)
      const slow = call(h, "/set?k=cart&v=socks&read=1&gate=slow", token)
      await h.gates.arrived("slow")
      const logout = await call(h, "/logout", token)
      assert.match(logout.setCookies[0] ?? "", /^session=; Max-Age=0;/)
      h.gates.release("slow")
      const reply = await slow
      assert.equal(reply.status, 200)
      assert.ok(!tokensSet(reply).includes(token), "the slow response does not set the old token again")
      assert.deepEqual(reply.setCookies, [], "nor any session cookie (a deletion could delete a newer one)")
      assert.deepEqual(await read(h, token), {}, "the old cookie finds nothing")
      assert.equal(await h.count(), 0, "nothing is left in the store")
    }
  },
  {
    name: "3. logout sticks against a read-only slow request whose idle extension runs at commit",
    options: { idleTimeout: 60_000, touchAfter: 0 },
    run: async (h) => {
      const token = await login(h)
      const slow = call(h, "/read?gate=slow&hold=5", token)
      await h.gates.arrived("slow")
      await call(h, "/logout", token)
      h.gates.release("slow")
      const reply = await slow
      assert.equal(reply.status, 200)
      assert.deepEqual(JSON.parse(reply.body), { user: "alice" }, "it loaded the session before the logout")
      assert.deepEqual(reply.setCookies, [])
      assert.deepEqual(await read(h, token), {})
      assert.equal(await h.count(), 0)
    }
  },
  {
    name: "4. with idleTimeout, a read-only slow request overlapping a write does not revert the write",
    options: { idleTimeout: 60_000, touchAfter: 0 },
    run: async (h) => {
      const token = await login(h)
      const slow = call(h, "/read?gate=slow&hold=5", token)
      await h.gates.arrived("slow")
      await set(h, token, "cart", "socks")
      h.gates.release("slow")
      const reply = await slow
      assert.equal(reply.status, 200)
      assert.deepEqual(JSON.parse(reply.body), { user: "alice" })
      assert.deepEqual(await read(h, token), { user: "alice", cart: "socks" })
      // a read-only request after the write does extend it again (a touch keeps the data)
      assert.deepEqual(await read(h, token), { user: "alice", cart: "socks" })
    }
  },
  {
    name: "5. renew while requests with the old token are in flight: the old token finds nothing, writes merge",
    run: async (h) => {
      const old = await login(h)
      await set(h, old, "cart", "socks")
      const writer = call(h, "/set?k=note&v=hi&read=1&gate=writer", old)
      const reader = call(h, "/read?gate=reader", old)
      await Promise.all([h.gates.arrived("writer"), h.gates.arrived("reader")])
      const renewed = await call(h, "/renew", old)
      assert.equal(renewed.status, 200)
      const fresh = issued(renewed)
      assert.notEqual(fresh, old)
      h.gates.release("writer")
      h.gates.release("reader")
      const [w, r] = await Promise.all([writer, reader])
      assert.equal(w.status, 200)
      assert.equal(r.status, 200)
      for (const reply of [w, r]) {
        assert.ok(!tokensSet(reply).includes(fresh), "an in-flight request never learns the new token")
        assert.deepEqual(reply.setCookies, [], "nor sets the old one again")
      }
      assert.deepEqual(await read(h, old), {}, "the old token finds nothing")
      assert.deepEqual(await read(h, fresh), { user: "alice", cart: "socks", note: "hi" }, "the write was merged")
      // a new request with the old token is a stranger: a new session, never the renewed one
      const stranger = await call(h, "/set?k=x&v=y", old)
      const other = issued(stranger)
      assert.notEqual(other, fresh)
      assert.notEqual(other, old)
      assert.deepEqual(await read(h, fresh), { user: "alice", cart: "socks", note: "hi" })
    }
  },
  {
    name: "6. a client that hangs up mid-handler during a renew leaves the old session intact and no orphan",
    run: async (h) => {
      const token = await login(h)
      await set(h, token, "cart", "socks")
      const before = await h.count()
      const controller = new AbortController()
      const outcome = call(h, "/renew?gate=renew", token, { signal: controller.signal })
        .then((reply) => `answered ${reply.status}`, () => "aborted")
      await h.gates.arrived("renew") // renewed, not committed
      controller.abort()
      assert.equal(await outcome, "aborted")
      await sleep(100) // the server sees the hang-up
      h.gates.release("renew") // a handler that was not interrupted would now go on to its commit
      await sleep(300)
      assert.deepEqual(await read(h, token), { user: "alice", cart: "socks" }, "the old cookie holds the session")
      assert.equal(await h.count(), before, "no orphan entry")
    }
  },
  {
    name: "6. a renew whose commit fails (Redis paused): 503 without a cookie, old session intact, no orphan",
    engines: ["RedisStore"],
    redisTimeout: 400,
    run: async (h) => {
      const token = await login(h)
      await set(h, token, "cart", "socks")
      const before = await h.count()
      const renewing = call(h, "/renew?gate=renew", token)
      await h.gates.arrived("renew") // the handler has loaded the session and renewed it
      const failed = await withRedisPaused(h, () => {
        h.gates.release("renew")
        return renewing
      })
      assert.equal(failed.status, 503)
      assert.deepEqual(failed.setCookies, [])
      await eventually("the old cookie holds the whole session once Redis is back", async () => {
        assert.deepEqual(await read(h, token), { user: "alice", cart: "socks" })
      })
      assert.equal(await h.count(), before, "no orphan entry under a token nobody received")
    }
  },
  {
    name: "7. with idleTimeout and Redis paused, a request waits about one store timeout, not two",
    engines: ["RedisStore"],
    redisTimeout: 400,
    options: { idleTimeout: 60_000, touchAfter: 0 },
    run: async (h) => {
      const token = await login(h)
      const timed = async (path: string) => {
        const start = performance.now()
        const reply = await call(h, path, token)
        return { status: reply.status, ms: performance.now() - start }
      }
      const [readOnly, untouched, write] = await withRedisPaused(h, async () => [
        await timed("/read"),
        await timed("/none"),
        await timed("/set?k=cart&v=socks")
      ])
      assert.equal(readOnly.status, 503, "the handler's load failed")
      assert.equal(untouched.status, 200, "only the idle extension needed the store: the response still goes out")
      assert.equal(write.status, 503)
      for (const [what, t] of [["read", readOnly], ["none", untouched], ["set", write]] as const) {
        assert.ok(t.ms >= 300, `${what}: it did wait for the store (${t.ms.toFixed(0)} ms)`)
        assert.ok(t.ms < 1.5 * 400, `${what}: ${t.ms.toFixed(0)} ms is more than one store timeout (400 ms)`)
      }
      await eventually("the session is intact once Redis is back", async () => {
        assert.deepEqual(await read(h, token), { user: "alice" })
      })
    }
  },
  {
    name: "8. a set from a fiber that outlives the request fails with Committed, is logged, and is not saved",
    run: async (h) => {
      const token = await login(h)
      const reply = await call(h, "/late?delay=100", token)
      assert.equal(reply.status, 200)
      await waitUntil("the late fiber's outcome", () => h.late.length > 0)
      assert.deepEqual(h.late, ["Committed"])
      assert.ok(
        h.logs.some((line) => line.level === "WARN" && line.message.includes("after its commit")),
        `a warning is logged: ${JSON.stringify(h.logs)}`
      )
      assert.deepEqual(await read(h, token), { user: "alice" })
    }
  },
  {
    name: "8. sets racing the commit are either saved or fail, never reported saved and lost",
    run: async (h) => {
      const token = await login(h)
      for (let round = 0; round < 5; round++) {
        const from = h.late.length
        assert.equal((await call(h, "/late-loop", token)).status, 200)
        await waitUntil("the loop's end", () => h.late.length > from && !h.late.at(-1)!.startsWith("saved:"))
        const outcomes = h.late.slice(from)
        assert.equal(outcomes.at(-1), "Committed")
        const stored = await read(h, token)
        for (const outcome of outcomes.slice(0, -1)) {
          const key = outcome.slice("saved:".length)
          assert.equal(stored[key], "x", `${key} was reported saved (round ${round}): ${JSON.stringify(stored)}`)
        }
      }
    }
  },
  {
    name: "9. 20 concurrent requests each adding its own key: all 20 keys survive",
    run: (h) => concurrentWriters(h, 20)
  },
  {
    // more writers than a commit has attempts (MAX_ATTEMPTS = 12): racing each other, some would run out of them;
    // commits of one session in one process take turns (core/commitQueue.ts), each writing once
    name:
      "9. 100 concurrent requests each adding its own key (8 times a commit's attempts): all answered 200, all land",
    timeout: 60_000,
    run: (h) => concurrentWriters(h, 100)
  },
  {
    name: "10. idle touches are throttled: a read-only request right after a write sends no cookie, writes nothing",
    options: { idleTimeout: 10_000, touchAfter: 5_000 },
    run: async (h) => {
      const token = await login(h)
      const key = storeKey(token)
      const before = await h.entry(key)
      assert.ok(before !== undefined)
      const calls = { ...h.calls }
      await sleep(300) // a touch now would move the expiry by about this much
      const reply = await call(h, "/read", token)
      assert.deepEqual(JSON.parse(reply.body), { user: "alice" })
      assert.deepEqual(reply.setCookies, [])
      assert.equal(h.calls.touch, calls.touch, "no touch")
      assert.equal(h.calls.save, calls.save, "no save")
      const after = await h.entry(key)
      assert.equal(after?.version, before.version)
      // Redis reports its expiry through PTTL, a millisecond or two apart between reads
      assert.ok(Math.abs(after!.expiry - before.expiry) < 100, `the expiry moved by ${after!.expiry - before.expiry}`)
    }
  },
  {
    name: "10. an idle touch, once due, moves only the expiry and sends the cookie again",
    options: { idleTimeout: 2_000, touchAfter: 500 },
    run: async (h) => {
      const token = await login(h)
      const key = storeKey(token)
      const before = (await h.entry(key))!
      await sleep(700)
      const calls = { ...h.calls }
      const reply = await call(h, "/read", token)
      assert.deepEqual(JSON.parse(reply.body), { user: "alice" })
      assert.deepEqual(tokensSet(reply), [token], "the cookie's lifetime moves with the expiry")
      assert.equal(h.calls.touch, calls.touch + 1)
      assert.equal(h.calls.save, calls.save)
      const after = (await h.entry(key))!
      assert.equal(after.version, before.version, "a touch keeps the version (and the bytes)")
      assert.ok(after.expiry - before.expiry >= 500, `the expiry moved by ${after.expiry - before.expiry} ms`)
      // and right after it, the next read-only request does not touch again
      const again = await call(h, "/read", token)
      assert.deepEqual(again.setCookies, [])
      assert.equal(h.calls.touch, calls.touch + 1)
    }
  }
]

// ---------------------------------------------------------------------------------------------------------------
// the property: random interleavings of 2-4 requests of one session, against a model of the merge rules

export type Key = "user" | "a" | "b" | "c"
export type Op =
  | { readonly _tag: "set"; readonly key: Key; readonly value: string }
  | { readonly _tag: "remove"; readonly key: Key }
  | { readonly _tag: "clear" }
  | { readonly _tag: "renew" }
  | { readonly _tag: "destroy" }

/** What a commit told the response to do. */
export type Outcome = { readonly _tag: "Unchanged" } | { readonly _tag: "ExpireCookie" } | {
  readonly _tag: "SetCookie"
  readonly token: string
}

/** One request of the session, driven step by step by the property. */
export interface RequestDriver {
  /** Uses the session (which loads it), then runs `ops` in order. */
  readonly handle: (ops: ReadonlyArray<Op>) => Promise<void>
  /** Runs the commit to its end. */
  readonly commit: () => Promise<Outcome>
}

/** A fresh store and `SessionManager` (no idle timeout, default `renewGrace`), for one run of the property. */
export interface PropertyWorld {
  /** Begins a request with `token` as its cookie (`undefined`: none). */
  readonly begin: (token: string | undefined) => RequestDriver
  /** Every live entry of the store, raw. */
  readonly entries: () => Promise<ReadonlyArray<readonly [key: string, data: Uint8Array]>>
}

export interface Plan {
  readonly initial: Readonly<Record<string, string>>
  readonly requests: ReadonlyArray<ReadonlyArray<Op>>
  /** The events in order: each request's first event is its `handle` (it loads), its second its commit. */
  readonly order: ReadonlyArray<number>
}

const keyArb = fc.constantFrom<Key>("user", "a", "b", "c")
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ _tag: fc.constant("set" as const), key: keyArb, value: fc.constantFrom("1", "2", "3") })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("remove" as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "clear" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "renew" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "destroy" as const }) }
)

export const planArb: fc.Arbitrary<Plan> = fc
  .record({
    initial: fc.record(
      { a: fc.constantFrom("0", "1"), b: fc.constantFrom("0", "1"), c: fc.constantFrom("0", "1") },
      { requiredKeys: [] }
    ),
    requests: fc.array(fc.array(opArb, { maxLength: 4 }), { minLength: 2, maxLength: 4 })
  })
  .chain(({ initial, requests }) =>
    fc
      .array(fc.nat(1000), { minLength: requests.length * 2, maxLength: requests.length * 2 })
      .map((priorities) => {
        const events = requests.flatMap((_, i) => [i, i])
        const order = events
          .map((request, n) => ({ request, priority: priorities[n]! }))
          .sort((x, y) => x.priority - y.priority)
          .map((e) => e.request)
        return { initial: { user: "u", ...initial }, requests, order }
      })
  )

// The model: the store as a map of session ids ("S" the initial session, "R<i>" the one request i created or
// renewed to) to live records or renew markers; each request mirrors what its session records (`SessionState`)
// and its commit applies the rules the README states (`core/commit.ts`), each commit taking effect at once.

type ModelEntry = { readonly _tag: "Live"; readonly values: Map<string, string>; readonly version: number } | {
  readonly _tag: "Marker"
  readonly to: string
}

interface ModelRequest {
  base: { readonly id: string; readonly version: number } | undefined
  readonly view: Map<string, string>
  readonly changes: Map<string, string | undefined>
  cleared: boolean
  renewing: boolean
  destroyId: string | undefined
  status: "unmodified" | "modified" | "destroyed"
}

type ModelOutcome = { readonly _tag: "Unchanged" } | { readonly _tag: "ExpireCookie" } | {
  readonly _tag: "SetCookie"
  readonly id: string
}

class Model {
  readonly store = new Map<string, ModelEntry>()
  private version = 0
  readonly requests: Array<ModelRequest> = []

  constructor(initial: Readonly<Record<string, string>>) {
    this.write("S", new Map(Object.entries(initial)))
  }

  private write(id: string, values: Map<string, string>) {
    this.store.set(id, { _tag: "Live", values, version: ++this.version })
  }

  handle(i: number, ops: ReadonlyArray<Op>) {
    const found = this.store.get("S")
    const r: ModelRequest = {
      base: found?._tag === "Live" ? { id: "S", version: found.version } : undefined,
      view: new Map(found?._tag === "Live" ? found.values : []),
      changes: new Map(),
      cleared: false,
      renewing: false,
      destroyId: undefined,
      status: "unmodified"
    }
    const touch = () => {
      if (r.status === "destroyed") {
        r.base = undefined
        r.renewing = false
        r.view.clear()
        r.changes.clear()
        r.cleared = false
      }
      r.status = "modified"
    }
    for (const op of ops) {
      switch (op._tag) {
        case "set":
          touch()
          r.view.set(op.key, op.value)
          r.changes.delete(op.key)
          r.changes.set(op.key, op.value)
          break
        case "remove":
          if (r.view.has(op.key)) {
            touch()
            r.view.delete(op.key)
            r.changes.delete(op.key)
            r.changes.set(op.key, undefined)
          }
          break
        case "clear":
          if (r.view.size > 0) {
            touch()
            r.view.clear()
            r.changes.clear()
            r.cleared = true
          }
          break
        case "renew":
          touch()
          if (r.base !== undefined) r.renewing = true
          break
        case "destroy":
          if (r.base !== undefined) r.destroyId ??= r.base.id
          r.base = undefined
          r.status = "destroyed"
          r.view.clear()
          r.changes.clear()
          r.cleared = false
          r.renewing = false
          break
      }
    }
    this.requests[i] = r
  }

  /** The request's changes applied to `onto` (later commit wins per key; `clear` drops what it did not set). */
  private merged(r: ModelRequest, onto: Map<string, string>): Map<string, string> {
    const values = new Map(r.cleared ? [] : onto)
    for (const [k, v] of r.changes) {
      if (v === undefined) values.delete(k)
      else values.set(k, v)
    }
    return values
  }

  commit(i: number): ModelOutcome {
    const r = this.requests[i]!
    if (r.destroyId !== undefined) {
      // a destroy deletes the session, and the session a renew moved it to
      const found = this.store.get(r.destroyId)
      if (found?._tag === "Marker") this.store.delete(found.to)
      this.store.delete(r.destroyId)
    }
    if (r.status === "destroyed") return { _tag: "ExpireCookie" }
    if (r.status === "unmodified") return { _tag: "Unchanged" }
    const id = `R${i}`
    if (r.base === undefined) {
      this.write(id, new Map(r.view))
      return { _tag: "SetCookie", id }
    }
    const current = this.store.get(r.base.id)
    if (r.renewing && current?._tag === "Live") {
      this.write(id, this.merged(r, current.values))
      this.store.set(r.base.id, { _tag: "Marker", to: id })
      return { _tag: "SetCookie", id }
    }
    // a renew that meets another renew (or a destroy) does not happen: its changes go where a write's would
    if (current?._tag === "Live") {
      this.write(r.base.id, this.merged(r, current.values))
      return { _tag: "SetCookie", id: r.base.id }
    }
    if (current?._tag === "Marker") {
      // renewed meanwhile: the changes go to the renewed session, whose token this request never learns
      const moved = this.store.get(current.to)
      if (moved?._tag === "Live") this.write(current.to, this.merged(r, moved.values))
    }
    // gone (destroyed): the changes are dropped, nothing is sent
    return { _tag: "Unchanged" }
  }
}

const describeEntry = (data: Uint8Array): string => {
  const decoded = Codec.decode(data)
  switch (decoded._tag) {
    case "Ok":
      return `live ${JSON.stringify(Object.fromEntries(Object.entries(decoded.record.values).sort()))}`
    case "Marker":
      return `marker -> ${decoded.to}`
    default:
      return JSON.stringify(decoded)
  }
}

/** Runs one plan through the world and the model, and compares the store and every response's cookie. */
export const checkPlan = async (world: PropertyWorld, plan: Plan): Promise<void> => {
  // the initial session: a request without a cookie that sets the initial values
  const seed = world.begin(undefined)
  await seed.handle(Object.entries(plan.initial).map(([key, value]) => ({ _tag: "set", key: key as Key, value })))
  const created = await seed.commit()
  assert.equal(created._tag, "SetCookie")
  const tokens = new Map<string, string>([["S", (created as { token: string }).token]])

  const model = new Model(plan.initial)
  const drivers = plan.requests.map(() => world.begin(tokens.get("S")))
  const seen = new Set<number>()
  for (const i of plan.order) {
    if (!seen.has(i)) {
      seen.add(i)
      model.handle(i, plan.requests[i]!)
      await drivers[i]!.handle(plan.requests[i]!)
      continue
    }
    const expected = model.commit(i)
    const actual = await drivers[i]!.commit()
    const context = `request ${i}'s commit`
    assert.equal(actual._tag, expected._tag, context)
    if (expected._tag === "SetCookie" && actual._tag === "SetCookie") {
      if (expected.id === "S") assert.equal(actual.token, tokens.get("S"), `${context} keeps the token`)
      else {
        assert.notEqual(actual.token, tokens.get("S"), `${context} sets a new token`)
        tokens.set(expected.id, actual.token)
      }
    }
  }

  // the store, as the model says it must be: every entry under the store key of its session's token
  const expected = new Map<string, string>()
  for (const [id, entry] of model.store) {
    const key = storeKey(tokens.get(id)!)
    expected.set(
      key,
      entry._tag === "Live"
        ? `live ${JSON.stringify(Object.fromEntries([...entry.values].sort()))}`
        : `marker -> ${storeKey(tokens.get(entry.to)!)}`
    )
  }
  const actual = new Map((await world.entries()).map(([key, data]) => [key, describeEntry(data)]))
  assert.deepEqual(actual, expected)
}

/** The property: `runs` random plans, each in a fresh world. */
export const interleavingsProperty = async (
  fresh: <A>(f: (world: PropertyWorld) => Promise<A>) => Promise<A>,
  runs = 300
): Promise<void> => {
  await fc.assert(
    fc.asyncProperty(planArb, (plan) => fresh((world) => checkPlan(world, plan))),
    { numRuns: runs }
  )
}
