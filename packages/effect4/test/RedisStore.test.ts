/**
 * RedisStore (Effect 4 line) against real Redis servers started by the root `test/helpers/redis.ts` (or `REDIS_URL`
 * for the standalone suites): the conformance suite standalone and on a 3-master Cluster, the key layout and TTLs,
 * the Lua scripts of load / saveIf / touch (versions of data written without them, NOSCRIPT, the Cluster), outages,
 * layer release, and option errors. The session suite over HTTP runs in `sessionSuite.redis.test.ts`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { Cluster, Redis, type RedisOptions } from "ioredis"
import { createHash, randomBytes } from "node:crypto"
import { availability, rawCommand, RedisCluster, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import { RoundTrips } from "../src/core/redisRoundTrip.js"
import { LOAD, SAVE_IF, TOUCH } from "../src/core/redisScripts.js"
import * as Internal from "../src/internal/redis.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Store from "../src/Store.js"
import { storeConformance } from "../src/testing.js"

// --- process-level watch: nothing may escape to the process as an unhandled rejection or an unhandled ioredis
// "error" event (ioredis prints those with console.error instead of throwing)
const unhandledRejections: Array<unknown> = []
const onUnhandledRejection = (reason: unknown) => {
  unhandledRejections.push(reason)
}
process.on("unhandledRejection", onUnhandledRejection)
const escapedErrorEvents: Array<string> = []
const consoleError = console.error
console.error = (...args: Array<unknown>) => {
  if (args.some((arg) => typeof arg === "string" && arg.includes("[ioredis] Unhandled error event"))) {
    escapedErrorEvents.push(args.map(String).join(" "))
  }
  consoleError(...args)
}

// the public types accept ioredis' own clients and produce its options (checked by tsc)
const asClients = (clients: ReadonlyArray<Redis | Cluster>): ReadonlyArray<RedisStore.RedisClient> => clients
const clusterDefaults: RedisOptions = RedisStore.clientDefaults()

const runId = randomBytes(4).toString("hex")
let prefixCounter = 0
/** A prefix no other test (or other run against a shared `REDIS_URL`) uses. */
const freshPrefix = (label = "t") => `effect-session-test:${runId}:e4-${label}${prefixCounter++}:`

const bytes = (text: string) => new TextEncoder().encode(text)
const inFuture = (duration: Duration.Input) => Effect.map(DateTime.now, (now) => DateTime.addDuration(now, duration))
const promise = <A>(evaluate: () => Promise<A>) => Effect.promise(evaluate)
const collect = <A, E>(stream: Stream.Stream<A, E>) => Stream.runCollect(stream)
/** The hex SHA-1 of `data`: RedisStore's version of an entry holding these bytes. */
const sha1 = (data: Uint8Array) => createHash("sha1").update(data).digest("hex")
/** The digest Redis itself computes of the value under `key` (what the scripts compare versions with). */
const serverDigest = (client: Redis | Cluster, key: string) =>
  promise(() => client.eval("return redis.sha1hex(redis.call('GET', KEYS[1]))", 1, key) as Promise<string>)
const scriptShas = [LOAD.sha, SAVE_IF.sha, TOUCH.sha]
/** Every byte value, and non-ASCII text: values that go to Redis as a Buffer, not as a string. */
const binary = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...bytes("é ✓ 𝄞")])

/** Registers `body` when Redis is available; otherwise skips it with a printed reason (or fails, REQUIRE_REDIS=1). */
const describeRedis = (needs: "server" | "binaries", name: string, body: () => void) => {
  const reason = unavailableReason(needs)
  if (reason === undefined) return describe(name, body)
  if (availability.required) {
    return describe(name, () => {
      it(`cannot run: ${reason}`, () => {
        throw new Error(`REQUIRE_REDIS=1, but ${reason}`)
      })
    })
  }
  console.warn(`[RedisStore tests] skipping "${name}": ${reason}`)
  return describe.skip(name, body)
}

/** A client for checking what the store wrote; never used to write session data. */
const adminClient = (target: string | { port: number }) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      typeof target === "string"
        ? new Redis(target, { maxRetriesPerRequest: 1 })
        : new Redis({ host: "127.0.0.1", port: target.port, maxRetriesPerRequest: 1 })
    ),
    (client) =>
      promise(() => client.quit().catch(() => "")).pipe(Effect.andThen(Effect.sync(() => client.disconnect())))
  )

/** Every key matching `pattern` (a full SCAN: one call may return none of them in a big database). */
const scanAll = (client: Redis, pattern: string) =>
  promise(async () => {
    const keys: Array<string> = []
    let cursor = "0"
    do {
      const [next, batch] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
      keys.push(...batch)
      cursor = next
    } while (cursor !== "0")
    return keys
  })

const startServer = Effect.acquireRelease(
  promise(() => RedisServer.start()),
  (server) => promise(() => server.dispose())
)

/** Times `effect`, in real milliseconds. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(Effect.exit(effect), (exit) => [exit, performance.now() - start] as const)
  })

const expectStoreError = <A>(
  exit: Exit.Exit<A, Store.SessionStoreError>,
  reasons: ReadonlyArray<Store.SessionStoreErrorReason>
): Store.SessionStoreError => {
  if (Exit.isSuccess(exit)) assert.fail("expected the operation to fail, it succeeded")
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) assert.fail(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  assert.strictEqual(error.value._tag, "SessionStoreError")
  assert.include(reasons, error.value.reason, `unexpected reason ${error.value.reason}: ${error.value.message}`)
  return error.value
}

const exitsOf = <A, E>(exit: Exit.Exit<ReadonlyArray<A>, E>): ReadonlyArray<A> => Exit.isSuccess(exit) ? exit.value : []

/** Builds `layer` in a scope of its own; returns the RedisStore service and the scope to close. */
const buildStore = (layer: Layer.Layer<RedisStore.RedisStore | Store.SessionStore, Store.SessionStoreError>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { store: Context.get(context, RedisStore.RedisStore), scope } as const
  })

// ---------------------------------------------------------------------------------------------------------------
// Standalone: the server this file started, or REDIS_URL

let standaloneServer: RedisServer | undefined
const standaloneUrl = () => availability.url ?? standaloneServer!.url

describeRedis("server", "RedisStore (standalone)", () => {
  beforeAll(async () => {
    if (availability.url === undefined) standaloneServer = await RedisServer.start()
  })
  afterAll(async () => {
    // with a shared REDIS_URL, remove exactly the keys this run wrote
    const client = new Redis(standaloneUrl(), { maxRetriesPerRequest: 1 })
    try {
      let cursor = "0"
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `effect-session-test:${runId}:*`, "COUNT", 1000)
        if (keys.length > 0) await client.unlink(...keys)
        cursor = next
      } while (cursor !== "0")
    } finally {
      client.disconnect()
      await standaloneServer?.dispose()
    }
  })

  storeConformance(
    "RedisStore (standalone, layer)",
    () => RedisStore.layer({ url: Redacted.make(standaloneUrl()), prefix: freshPrefix("conf") }),
    { clock: "live" }
  )

  describe("key layout and TTL", () => {
    it.live("a session is a raw string under prefix + token, with a PTTL of its remaining lifetime", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("layout")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        const data = new Uint8Array([0, 1, 2, 254, 255, 0, 13, 10])
        yield* store.save("abc", data, yield* inFuture("10 minutes"))
        const raw = yield* promise(() => admin.getBuffer(`${prefix}abc`))
        assert.isNotNull(raw)
        assert.isTrue(raw!.equals(Buffer.from(data)))
        const pttl = yield* promise(() => admin.pttl(`${prefix}abc`))
        assert.isAtMost(pttl, 600_000)
        assert.isAtLeast(pttl, 600_000 - 1500)
        // no other key was written
        assert.deepStrictEqual(yield* scanAll(admin, `${prefix}*`), [`${prefix}abc`])
      }))

    it.live("returned bytes are plain Uint8Arrays owning their memory, not views of a shared buffer", () =>
      Effect.gen(function*() {
        // a view into ioredis' socket chunk would expose other sessions' bytes through `.buffer`
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix: freshPrefix("own") })
        const expiry = yield* inFuture("10 minutes")
        for (let i = 0; i < 20; i++) yield* store.save(`t${i}`, bytes(`secret-${i}`), expiry)
        const found = Option.getOrThrow(yield* store.find("t3"))
        const streamed = (yield* collect(store.all)).map(([, data]) => data)
        for (const data of [found, ...streamed]) {
          assert.strictEqual(Object.getPrototypeOf(data), Uint8Array.prototype)
          assert.strictEqual(data.byteOffset, 0)
          assert.strictEqual(data.buffer.byteLength, data.byteLength)
        }
      }))

    it.effect("under TestClock, the TTL is the expiry minus the Effect Clock's now (not the wall clock)", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("testclock")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        // the TestClock starts at the epoch: a wall-clock TTL would be negative and the key would not exist
        yield* store.save("a", bytes("a"), yield* inFuture("10 minutes"))
        const pttlA = yield* promise(() => admin.pttl(`${prefix}a`))
        assert.isAtMost(pttlA, 600_000)
        assert.isAtLeast(pttlA, 600_000 - 1500)
        yield* TestClock.adjust("3 days")
        yield* store.save("b", bytes("b"), yield* inFuture("5 minutes"))
        const pttlB = yield* promise(() => admin.pttl(`${prefix}b`))
        assert.isAtMost(pttlB, 300_000)
        assert.isAtLeast(pttlB, 300_000 - 1500)
        // "a" expired 3 days ago on the Effect Clock: saving it again with that expiry deletes it
        yield* store.save("a", bytes("a2"), DateTime.makeUnsafe(10 * 60 * 1000))
        assert.strictEqual(yield* promise(() => admin.exists(`${prefix}a`)), 0)
        assert.deepStrictEqual(Option.getOrUndefined(yield* store.find("b")), bytes("b"))
      }))
  })

  describe("load, saveIf and touch (Lua scripts)", () => {
    it.live("an entry written by plain save (no script, as older releases did) loads with the SHA-1 of its bytes as version, which saveIf and touch accept", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("legacy")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        const saved = bytes("{\"user\":\"ada\"}")
        yield* store.save("saved", saved, yield* inFuture("10 minutes"))
        // what any earlier release left in Redis: the raw bytes with a TTL, nothing else
        yield* promise(() => admin.set(`${prefix}raw`, Buffer.from(binary), "PX", 600_000))

        for (const [token, data] of [["saved", saved], ["raw", binary]] as const) {
          const now = yield* DateTime.now
          const entry = Option.getOrThrow(yield* store.load(token))
          assert.deepStrictEqual(entry.data, data)
          assert.strictEqual(entry.version, sha1(data))
          assert.strictEqual(entry.version, yield* serverDigest(admin, `${prefix}${token}`))
          const left = DateTime.toEpochMillis(entry.expiry) - DateTime.toEpochMillis(now)
          assert.isAtMost(left, 600_000)
          assert.isAtLeast(left, 600_000 - 1500)

          // touch keeps the bytes and the version, and moves the TTL
          assert.isTrue(yield* store.touch(token, yield* inFuture("20 minutes"), entry.version))
          const pttl = yield* promise(() => admin.pttl(`${prefix}${token}`))
          assert.isAtLeast(pttl, 1_200_000 - 1500)
          assert.strictEqual(Option.getOrThrow(yield* store.load(token)).version, entry.version)

          // saveIf with the version loaded writes, and answers the SHA-1 of the new bytes
          const next = bytes(`next ${token}`)
          const written = yield* store.saveIf(token, next, yield* inFuture("5 minutes"), Option.some(entry.version))
          assert.deepStrictEqual(written, Option.some(sha1(next)))
          assert.isTrue((yield* promise(() => admin.getBuffer(`${prefix}${token}`)))!.equals(Buffer.from(next)))
          const pttlAfter = yield* promise(() => admin.pttl(`${prefix}${token}`))
          assert.isAtMost(pttlAfter, 300_000)
          assert.isAtLeast(pttlAfter, 300_000 - 1500)

          // the version loaded first is stale now
          assert.isTrue(
            Option.isNone(yield* store.saveIf(token, data, yield* inFuture("5 minutes"), Option.some(entry.version)))
          )
          assert.isFalse(yield* store.touch(token, yield* inFuture("1 hour"), entry.version))
          assert.deepStrictEqual(Option.getOrThrow(yield* store.find(token)), next)
        }
        // the storage format is unchanged: one plain string per session, no version key beside it
        assert.deepStrictEqual((yield* scanAll(admin, `${prefix}*`)).sort(), [`${prefix}raw`, `${prefix}saved`])
        assert.strictEqual(yield* promise(() => admin.type(`${prefix}saved`)), "string")
      }))

    it.live("binary values: saveIf sends them as bytes, and the version is the digest Redis computes of what it holds", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("binary")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        // a view into a larger buffer: only the view's bytes are the value
        const backing = new Uint8Array(binary.length + 20).fill(7)
        backing.set(binary, 10)
        const view = backing.subarray(10, 10 + binary.length)
        const version = Option.getOrThrow(yield* store.saveIf("b", view, yield* inFuture("10 minutes"), Option.none()))
        view.fill(0) // changes nothing stored
        assert.strictEqual(version, sha1(binary))
        assert.strictEqual(version, yield* serverDigest(admin, `${prefix}b`))
        assert.isTrue((yield* promise(() => admin.getBuffer(`${prefix}b`)))!.equals(Buffer.from(binary)))
        const entry = Option.getOrThrow(yield* store.load("b"))
        assert.deepStrictEqual(entry.data, binary)
        assert.strictEqual(entry.version, version)
        assert.strictEqual(entry.data.buffer.byteLength, entry.data.byteLength, "load's bytes own their memory")
        // the empty value has a version too
        const empty = Option.getOrThrow(
          yield* store.saveIf("b", new Uint8Array(0), yield* inFuture("1 minute"), Option.some(version))
        )
        assert.strictEqual(empty, sha1(new Uint8Array(0)))
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load("b")).data, new Uint8Array(0))
      }))

    it.effect("under TestClock, load's expiry is the Effect Clock's now plus the TTL left, and an expiry not after now removes the entry", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("tc-scripts")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        yield* TestClock.adjust("3 days")
        const version = Option.getOrThrow(
          yield* store.saveIf("a", bytes("a"), yield* inFuture("10 minutes"), Option.none())
        )
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        const entry = Option.getOrThrow(yield* store.load("a"))
        const left = DateTime.toEpochMillis(entry.expiry) - now
        assert.isAtMost(left, 600_000)
        assert.isAtLeast(left, 600_000 - 1500)
        // expiries before the Effect Clock's now (still far after the wall clock's 1970 + 3 days) remove the entry
        assert.isTrue(yield* store.touch("a", DateTime.makeUnsafe(now), version))
        assert.strictEqual(yield* promise(() => admin.exists(`${prefix}a`)), 0)
        const again = Option.getOrThrow(
          yield* store.saveIf("a", bytes("b"), yield* inFuture("1 minute"), Option.none())
        )
        assert.deepStrictEqual(
          yield* store.saveIf("a", bytes("c"), DateTime.makeUnsafe(now - 1), Option.some(again)),
          Option.some(sha1(bytes("c")))
        )
        assert.strictEqual(yield* promise(() => admin.exists(`${prefix}a`)), 0)
        assert.isTrue(Option.isNone(yield* store.load("a")))
      }))

    it.live("a caller's client with keyPrefix: the scripts' key is keyPrefix + prefix + token", () =>
      Effect.gen(function*() {
        const keyPrefix = freshPrefix("kp-scripts")
        const admin = yield* adminClient(standaloneUrl())
        const prefixed = new Redis(standaloneUrl(), { keyPrefix, enableAutoPipelining: true })
        yield* Effect.addFinalizer(() => Effect.sync(() => prefixed.disconnect()))
        const store = yield* RedisStore.fromClient(prefixed, { prefix: "s:" })
        const version = Option.getOrThrow(
          yield* store.saveIf("t", bytes("v1"), yield* inFuture("10 minutes"), Option.none())
        )
        assert.isTrue((yield* promise(() => admin.getBuffer(`${keyPrefix}s:t`)))!.equals(Buffer.from("v1")))
        assert.strictEqual(yield* promise(() => admin.exists("s:t")), 0)
        assert.strictEqual(Option.getOrThrow(yield* store.load("t")).version, version)
        assert.isTrue(yield* store.touch("t", yield* inFuture("20 minutes"), version))
        assert.isAtLeast(yield* promise(() => admin.pttl(`${keyPrefix}s:t`)), 1_200_000 - 1500)
        const next = yield* store.saveIf("t", bytes("v2"), yield* inFuture("10 minutes"), Option.some(version))
        assert.deepStrictEqual(next, Option.some(sha1(bytes("v2"))))
        assert.deepStrictEqual(yield* collect(store.all), [["t", bytes("v2")]])
      }))

    it.live("an error reply from a script (a key that is not a string) is a typed Io error naming the operation", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("wrongtype")
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix })
        const admin = yield* adminClient(standaloneUrl())
        yield* promise(() => admin.rpush(`${prefix}list`, "x"))
        const expiry = yield* inFuture("1 minute")
        const version = sha1(bytes("x"))
        for (
          const [method, operation] of [
            ["load", store.load("list")],
            ["saveIf", store.saveIf("list", bytes("y"), expiry, Option.some(version))],
            ["touch", store.touch("list", expiry, version)]
          ] as ReadonlyArray<readonly [string, Effect.Effect<unknown, Store.SessionStoreError>]>
        ) {
          const error = expectStoreError(yield* Effect.exit(operation), ["Io"])
          assert.strictEqual(error.method, method)
          assert.include(error.message, "WRONGTYPE")
        }
        // saveIf(None) sees a live key: a conflict, not an error; the list is left alone
        assert.isTrue(Option.isNone(yield* store.saveIf("list", bytes("y"), expiry, Option.none())))
        assert.deepStrictEqual(yield* promise(() => admin.lrange(`${prefix}list`, 0, -1)), ["x"])
      }))
  })

  it.live("a prefix with glob characters matches only itself in all", () =>
    Effect.gen(function*() {
      const base = freshPrefix("glob")
      const pairs = [
        [`${base}a*:`, `${base}azz:`],
        [`${base}q?[ab]\\:`, `${base}qxa:`]
      ] as const
      const expiry = yield* inFuture("10 minutes")
      for (const [globby, lookalike] of pairs) {
        const store = yield* RedisStore.make({ url: standaloneUrl(), prefix: globby })
        const other = yield* RedisStore.make({ url: standaloneUrl(), prefix: lookalike })
        yield* store.save("mine", bytes("mine"), expiry)
        yield* other.save("theirs", bytes("theirs"), expiry)
        const all = yield* collect(store.all)
        assert.deepStrictEqual(all.map(([token]) => token), ["mine"], `prefix ${globby}`)
      }
    }))

  it.live("a caller's client with keyPrefix: keys are keyPrefix + prefix + token, and all still works", () =>
    Effect.gen(function*() {
      const keyPrefix = freshPrefix("kp")
      const client = yield* adminClient(standaloneUrl())
      const prefixed = new Redis(standaloneUrl(), { keyPrefix })
      yield* Effect.addFinalizer(() => Effect.sync(() => prefixed.disconnect()))
      const store = yield* RedisStore.fromClient(prefixed, { prefix: "s:", scanCount: 3 })
      const expiry = yield* inFuture("10 minutes")
      for (let i = 0; i < 10; i++) yield* store.save(`t${i}`, bytes(`v${i}`), expiry)
      const raw = yield* promise(() => client.getBuffer(`${keyPrefix}s:t3`))
      assert.isTrue(raw!.equals(Buffer.from("v3")))
      const all = yield* collect(store.all)
      assert.deepStrictEqual(
        [...all].sort(([a], [b]) => a.localeCompare(b)),
        Array.from({ length: 10 }, (_, i) => [`t${i}`, bytes(`v${i}`)] as const)
      )
    }))

  it.live("layerConfig reads the URL (redacted), prefix and timeout from Config", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("config")
      const provider = ConfigProvider.fromUnknown({
        TEST_REDIS_URL: standaloneUrl(),
        TEST_SESSION_PREFIX: prefix,
        TEST_TIMEOUT: "1500 millis"
      })
      const live = RedisStore.layerConfig({
        url: Config.Redacted("TEST_REDIS_URL"),
        prefix: Config.String("TEST_SESSION_PREFIX"),
        timeout: Config.Duration("TEST_TIMEOUT")
      })
      const context = yield* Layer.build(live).pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))
      const redisStore = Context.get(context, RedisStore.RedisStore)
      assert.strictEqual(redisStore.prefix, prefix)
      assert.strictEqual(Duration.toMillis(redisStore.timeout), 1500)
      yield* Store.save("t", bytes("configured"), yield* inFuture("1 minute")).pipe(
        Effect.provide(Layer.succeedContext(context))
      )
      const admin = yield* adminClient(standaloneUrl())
      assert.isTrue((yield* promise(() => admin.getBuffer(`${prefix}t`)))!.equals(Buffer.from("configured")))

      const missing = yield* Effect.flip(
        Effect.scoped(Layer.build(live)).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({}))
        )
      )
      assert.instanceOf(missing, Config.ConfigError, String(missing))
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// The engine's round trips as Effect 4 effects, over promises the test settles (no server): the deadline logic
// itself is tested in the root test/core/redisRoundTrip.test.ts

describe("RedisStore round trips as effects (no server)", () => {
  const ready = { status: "ready", lastError: undefined, target: "127.0.0.1:6379", tls: false }
  const makeRunner = (timeoutMs: number, isClosed = () => false) =>
    new RoundTrips(timeoutMs, { state: () => ready, isClosed })
  const roundTrip = <A>(runner: RoundTrips, method: string, evaluate: () => Promise<A>) =>
    Internal.fromCallback<A>((done) => runner.run(method, evaluate, (a) => a, done))
  const deferred = <A>() => {
    let resolve!: (value: A) => void
    let reject!: (error: unknown) => void
    const promise = new Promise<A>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
  const never = () => new Promise<string>(() => {})

  it.live("each effect fails with a typed Timeout at its deadline; an answered one succeeds with its reply", () =>
    Effect.gen(function*() {
      const runner = makeRunner(150)
      const first = yield* Effect.forkChild(timed(roundTrip(runner, "find", never)))
      const answered = deferred<string>()
      const second = yield* Effect.forkChild(
        Internal.fromCallback<number>((done) => runner.run("save", () => answered.promise, (s) => s.length, done))
      )
      yield* Effect.yieldNow
      assert.strictEqual(runner.deadlines.state.pending, 2)
      answered.resolve("OK")
      assert.strictEqual(yield* Fiber.join(second), 2)
      const [exit, elapsed] = yield* Fiber.join(first)
      const error = expectStoreError(exit, ["Timeout"])
      assert.strictEqual(error.method, "find")
      assert.strictEqual(
        error.message,
        "SessionStore.find: the backend did not answer in time: Redis did not answer within 150 ms"
      )
      assert.isAtLeast(elapsed, 145)
      assert.isBelow(elapsed, 250)
      assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
    }))

  it.live("an interrupted effect is dropped when its reply comes, or at its deadline at the latest", () =>
    Effect.gen(function*() {
      const runner = makeRunner(100)
      const answered = deferred<string>()
      const fiber = yield* Effect.forkChild(roundTrip(runner, "find", () => answered.promise))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      answered.resolve("late")
      yield* Effect.promise(() => answered.promise)
      assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })

      const unanswered = deferred<string>()
      const stuck = yield* Effect.forkChild(roundTrip(runner, "find", () => unanswered.promise))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(stuck)
      assert.deepStrictEqual(runner.deadlines.state, { pending: 1, holdsProcess: true })
      yield* Effect.sleep("150 millis")
      assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
      // a rejection after the deadline is handled (the hygiene test below checks that none escaped)
      unanswered.reject(new Error("too late"))
    }))

  it.live("a command that throws, or a released store, fails at once with a typed error", () =>
    Effect.gen(function*() {
      const runner = makeRunner(1000)
      const thrown = yield* Effect.exit(roundTrip(runner, "save", () => {
        throw new TypeError("bad argument")
      }))
      assert.strictEqual(expectStoreError(thrown, ["Io"]).method, "save")
      const closed = makeRunner(1000, () => true)
      expectStoreError(yield* Effect.exit(roundTrip(closed, "find", never)), ["Closed"])
      assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
      assert.deepStrictEqual(closed.deadlines.state, { pending: 0, holdsProcess: false })
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// Options

describe("RedisStore options", () => {
  it.effect("invalid options fail with typed InvalidInput errors, before any client is created", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[RedisStore.RedisStoreConfig, string]> = [
        [{ prefix: 42 as any }, "prefix"],
        [{ timeout: "soon" as any }, "timeout"],
        [{ timeout: 0 }, "timeout"],
        [{ timeout: -5 }, "timeout"],
        [{ timeout: "30 days" }, "timeout"],
        [{ scanCount: 0 }, "scanCount"],
        [{ scanCount: 2.5 }, "scanCount"],
        [{ url: "http://127.0.0.1:6379" }, "url"],
        [{ url: Redacted.make("not a url") }, "url"]
      ]
      for (const [options, word] of cases) {
        const error = yield* Effect.flip(Effect.scoped(RedisStore.make(options)))
        assert.strictEqual(error._tag, "SessionStoreError")
        assert.strictEqual(error.reason, "InvalidInput", JSON.stringify(options))
        assert.include(error.message, word)
      }
      // a caller's client is checked the same way (lazyConnect: it never connects)
      const client = new Redis({ lazyConnect: true })
      const error = yield* Effect.flip(Effect.scoped(RedisStore.fromClient(client, { scanCount: -1 })))
      assert.strictEqual(error.reason, "InvalidInput")
      assert.strictEqual(client.status, "wait")
      const layerError = yield* Effect.flip(Effect.scoped(Layer.build(RedisStore.layer({ timeout: "nope" as any }))))
      assert.strictEqual(layerError.reason, "InvalidInput")
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// Servers this file starts and stops: outages and layer release

describeRedis("binaries", "RedisStore outages and release", () => {
  const operations = (store: RedisStore.RedisStore) =>
    Effect.map(
      inFuture("10 minutes"),
      (expiry): ReadonlyArray<readonly [string, Effect.Effect<unknown, Store.SessionStoreError>]> => [
        ["find", store.find("t")],
        ["save", store.save("t", bytes("x"), expiry)],
        ["save (past expiry, a DEL)", store.save("t", bytes("x"), DateTime.makeUnsafe(0))],
        ["delete", store.delete("t")],
        ["all", Stream.runDrain(store.all)],
        ["load", store.load("t")],
        ["saveIf", store.saveIf("t", bytes("x"), expiry, Option.some(sha1(bytes("x"))))],
        ["touch", store.touch("t", expiry, sha1(bytes("x")))]
      ]
    )

  it.live("server down: every operation fails within the bound; back up: the same layer works again", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const bound = 1000
      const margin = 400
      const store = yield* RedisStore.make({ url: server.url, prefix: freshPrefix("outage"), timeout: "1 second" })
      yield* store.save("t", bytes("before"), yield* inFuture("10 minutes"))

      yield* promise(() => server.stop())
      for (const [name, operation] of yield* operations(store)) {
        const [exit, elapsed] = yield* timed(operation)
        const error = expectStoreError(exit, ["Unreachable", "Timeout"])
        assert.isBelow(elapsed, bound + margin, `${name} took ${elapsed} ms (${error.message})`)
      }
      // many at once, too
      const [exits, elapsed] = yield* timed(
        Effect.forEach(Array.from({ length: 200 }, (_, i) => Effect.exit(store.find(`t${i}`))), (e) => e, {
          concurrency: "unbounded"
        })
      )
      assert.isBelow(elapsed, bound + margin)
      assert.strictEqual(exitsOf(exits).length, 200)
      for (const exit of exitsOf(exits)) expectStoreError(exit, ["Unreachable", "Timeout"])

      yield* promise(() => server.start())
      const [recovered, recoveryTime] = yield* timed(
        store.save("t", bytes("after"), yield* inFuture("10 minutes")).pipe(
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo({ duration: "5 seconds" })))
        )
      )
      assert.isTrue(Exit.isSuccess(recovered), "the store recovered")
      assert.isBelow(recoveryTime, 2500, "reconnects within about a second")
      assert.deepStrictEqual(Option.getOrUndefined(yield* store.find("t")), bytes("after"))
      assert.strictEqual((yield* collect(store.all)).length, 1)
    }))

  it.live("server frozen (SIGSTOP): operations fail with Timeout at the default bound of about 2 seconds", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      yield* Effect.addFinalizer(() => Effect.sync(() => server.resume()))
      const store = yield* RedisStore.make({ url: server.url, prefix: freshPrefix("frozen") })
      assert.strictEqual(Duration.toMillis(store.timeout), 2000)
      yield* store.save("t", bytes("x"), yield* inFuture("10 minutes"))
      server.pause()
      const [exits, elapsed] = yield* timed(
        Effect.all([store.find("t"), store.delete("other"), Stream.runDrain(store.all)].map(Effect.exit), {
          concurrency: "unbounded"
        })
      )
      assert.strictEqual(exitsOf(exits).length, 3)
      for (const exit of exitsOf(exits)) expectStoreError(exit, ["Timeout"])
      assert.isAtLeast(elapsed, 1900)
      assert.isBelow(elapsed, 2500)
      server.resume()
      // (a timed-out command may still run once the server answers again: here, only the harmless DEL of "other")
      assert.deepStrictEqual(
        Option.getOrUndefined(
          yield* store.find("t").pipe(
            Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo({ duration: "3 seconds" })))
          )
        ),
        bytes("x")
      )
    }))

  it.live("a caller's client with ioredis defaults (offline queue, 20 retries): still bounded, and recovers", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const client = new Redis({ host: "127.0.0.1", port: server.port })
      yield* Effect.addFinalizer(() => Effect.sync(() => client.disconnect()))
      const store = yield* RedisStore.fromClient(client, { prefix: freshPrefix("defaults"), timeout: "600 millis" })
      yield* store.save("t", bytes("x"), yield* inFuture("10 minutes"))
      yield* promise(() => server.stop())
      for (const [name, operation] of yield* operations(store)) {
        const [exit, elapsed] = yield* timed(operation)
        expectStoreError(exit, ["Unreachable", "Timeout"])
        assert.isBelow(elapsed, 600 + 400, name)
      }
      yield* promise(() => server.start())
      const found = yield* store.save("t", bytes("y"), yield* inFuture("10 minutes")).pipe(
        Effect.andThen(store.find("t")),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "8 seconds" })))
      )
      assert.deepStrictEqual(Option.getOrUndefined(found), bytes("y"))
    }))

  it.effect("the bound is real time: it holds for a program running under TestClock", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      yield* Effect.addFinalizer(() => Effect.sync(() => server.resume()))
      const store = yield* RedisStore.make({ url: server.url, prefix: freshPrefix("frozen-tc"), timeout: "300 millis" })
      yield* store.save("t", bytes("x"), yield* inFuture("10 minutes"))
      server.pause()
      const [exit, elapsed] = yield* timed(store.find("t"))
      expectStoreError(exit, ["Timeout"])
      assert.isBelow(elapsed, 300 + 400)
    }))

  it.live("connection refused: a store-owned client fails fast as Unreachable, long before its timeout", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      yield* promise(() => server.stop())
      // the client reconnects at most 1 second apart, and each failed attempt rejects what waited for it
      const store = yield* RedisStore.make({ url: server.url, prefix: freshPrefix("nothing"), timeout: "5 seconds" })
      for (let i = 0; i < 4; i++) {
        const [exit, elapsed] = yield* timed(i % 2 === 0 ? store.find("t") : Stream.runDrain(store.all))
        const error = expectStoreError(exit, ["Unreachable"])
        assert.isBelow(elapsed, 1400)
        assert.include(error.message, "ECONNREFUSED")
      }
    }))

  it.live("rediss:// to a server without TLS: Timeout errors say what the client is stuck on", () =>
    Effect.gen(function*() {
      // the TLS handshake hangs (the server waits for a command) until the connect timeout: before the first
      // connection error, the error says the client is still connecting over TLS; after it, it names that error
      const server = yield* startServer
      const store = yield* RedisStore.make({
        url: `rediss://127.0.0.1:${server.port}`,
        prefix: freshPrefix("tls"),
        timeout: "1 second"
      })
      const messages: Array<string> = []
      for (let i = 0; i < 3; i++) {
        const [exit, elapsed] = yield* timed(store.find("t"))
        const error = expectStoreError(exit, ["Timeout", "Unreachable"])
        assert.isBelow(elapsed, 1000 + 400)
        messages.push(error.message)
      }
      assert.match(messages[0]!, /still connecting to 127\.0\.0\.1:\d+ over TLS/, messages[0])
      for (const message of messages) {
        assert.match(message, /still connecting to 127\.0\.0\.1:\d+ over TLS|last connection error: /, message)
      }
      assert.isTrue(messages.some((message) => message.includes("last connection error: ")), messages.join("\n"))
    }))

  it.live("SCRIPT FLUSH on the server: the scripts are sent again in full (NOSCRIPT) and every operation works, on a client with and without auto-pipelining", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const admin = yield* adminClient({ port: server.port })
      const prefix = freshPrefix("noscript")
      // the store's own client auto-pipelines: `load` is GET and PTTL in one write, the scripts are saveIf's and touch's
      const store = yield* RedisStore.make({ url: server.url, prefix })
      const ownShas = [SAVE_IF.sha, TOUCH.sha]
      const expiry = yield* inFuture("10 minutes")
      const first = Option.getOrThrow(yield* store.saveIf("t", bytes("one"), expiry, Option.none()))
      assert.isTrue(yield* store.touch("t", expiry, first))
      assert.isTrue(Option.isSome(yield* store.load("t")))
      assert.deepStrictEqual(yield* promise(() => admin.script("EXISTS", ...ownShas)), [1, 1])

      yield* promise(() => admin.script("FLUSH"))
      assert.deepStrictEqual(yield* promise(() => admin.script("EXISTS", ...scriptShas)), [0, 0, 0])
      // all three at once too, in one auto-pipelined batch: each falls back on its own
      const [loaded, touched, written] = yield* Effect.all([
        store.load("t"),
        store.touch("t", expiry, first),
        store.saveIf("other", bytes("two"), expiry, Option.none())
      ], { concurrency: "unbounded" })
      assert.strictEqual(Option.getOrThrow(loaded).version, first)
      assert.isTrue(touched)
      assert.deepStrictEqual(written, Option.some(sha1(bytes("two"))))
      assert.deepStrictEqual(yield* promise(() => admin.script("EXISTS", ...ownShas)), [1, 1])
      const second = yield* store.saveIf("t", bytes("three"), expiry, Option.some(first))
      assert.deepStrictEqual(second, Option.some(sha1(bytes("three"))))
      assert.deepStrictEqual(Option.getOrThrow(yield* store.find("t")), bytes("three"))

      // a caller's client without auto-pipelining reads with the LOAD script (one write), sent again after a FLUSH
      const caller = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url, { maxRetriesPerRequest: 1 })),
        (client) =>
          promise(() => client.quit().catch(() => "")).pipe(Effect.andThen(Effect.sync(() => client.disconnect())))
      )
      const borrowed = yield* RedisStore.fromClient(caller, { prefix })
      const loaded3 = Option.getOrThrow(yield* borrowed.load("t"))
      assert.strictEqual(loaded3.version, sha1(bytes("three")))
      assert.deepStrictEqual(yield* promise(() => admin.script("EXISTS", LOAD.sha)), [1])
      yield* promise(() => admin.script("FLUSH"))
      assert.deepStrictEqual(Option.getOrThrow(yield* borrowed.load("t")).data, bytes("three"))
      // both reads report the entry's expiry alike (its PTTL)
      const own = Option.getOrThrow(yield* store.load("t"))
      assert.isBelow(Math.abs(DateTime.toEpochMillis(own.expiry) - DateTime.toEpochMillis(loaded3.expiry)), 1000)
    }))

  it.live("layer(options) closes its connection on release; operations then fail as Closed", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const admin = yield* adminClient({ port: server.port })
      const name = `owned-${runId}`
      const { scope, store } = yield* buildStore(
        RedisStore.layer({ url: server.url, prefix: freshPrefix("owned"), redis: { connectionName: name } })
      )
      yield* store.save("t", bytes("x"), yield* inFuture("1 minute"))
      assert.include(yield* promise(() => admin.client("LIST") as Promise<string>), `name=${name}`)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(store.client.status, "end")
      const list = yield* promise(() => admin.client("LIST") as Promise<string>)
      assert.notInclude(list, `name=${name}`)
      expectStoreError(yield* Effect.exit(store.find("t")), ["Closed"])
      expectStoreError(yield* Effect.exit(Stream.runDrain(store.all)), ["Closed"])
      expectStoreError(yield* Effect.exit(store.load("t")), ["Closed"])
      expectStoreError(yield* Effect.exit(store.saveIf("t", bytes("x"), DateTime.makeUnsafe(0), Option.none())), [
        "Closed"
      ])
      expectStoreError(yield* Effect.exit(store.touch("t", DateTime.makeUnsafe(0), "v")), ["Closed"])
    }))

  it.live("layer(options) also releases cleanly while Redis is down (no reconnection left pending)", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const { scope, store } = yield* buildStore(RedisStore.layer({ url: server.url }))
      yield* Effect.exit(store.find("t"))
      yield* promise(() => server.stop())
      yield* Effect.exit(store.find("t"))
      const [, elapsed] = yield* timed(Scope.close(scope, Exit.void))
      assert.isBelow(elapsed, 2500)
      yield* promise(() => server.start())
      yield* Effect.sleep("1500 millis")
      // no reconnection happened after release
      const clients = yield* promise(() => rawCommand(server.port, "CLIENT LIST"))
      assert.strictEqual(clients.split("\n").filter((line) => line.includes("addr=")).length, 1, clients)
    }))

  it.live("layerClient leaves the caller's client open and its listeners as they were", () =>
    Effect.gen(function*() {
      const server = yield* startServer
      const client = new Redis({ host: "127.0.0.1", port: server.port })
      yield* Effect.addFinalizer(() => promise(() => client.quit()))
      const listeners = client.listenerCount("error")
      const { scope, store } = yield* buildStore(RedisStore.layerClient(client, { prefix: freshPrefix("borrowed") }))
      assert.strictEqual(store.client, client)
      yield* store.save("t", bytes("x"), yield* inFuture("1 minute"))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(client.listenerCount("error"), listeners)
      assert.strictEqual(client.status, "ready")
      assert.strictEqual(yield* promise(() => client.ping()), "PONG")
      assert.strictEqual(yield* promise(() => client.exists(`${store.prefix}t`)), 1)
      expectStoreError(yield* Effect.exit(store.find("t")), ["Closed"])
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// A 3-master Redis Cluster this file starts

describeRedis("binaries", "RedisStore (3-master Cluster)", () => {
  let redisCluster: RedisCluster | undefined
  let client: Cluster | undefined

  beforeAll(async () => {
    redisCluster = await RedisCluster.start()
    client = new Cluster(redisCluster.ports.map((port) => ({ host: "127.0.0.1", port })), {
      redisOptions: clusterDefaults
    })
    // this client is the caller's: its owner (this file) listens to its errors for its whole life
    client.on("error", () => {})
    await new Promise<void>((resolve) => client!.once("ready", () => resolve()))
  })
  afterAll(async () => {
    await client?.quit()
    await redisCluster?.dispose()
  })

  storeConformance(
    "RedisStore (3-master Cluster, layerClient)",
    () => RedisStore.layerClient(client!, { prefix: freshPrefix("cluster") }),
    { clock: "live" }
  )

  it.live("all over every master returns exactly the live entries, in small SCAN batches, without CROSSSLOT", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("cluster-all")
      const store = yield* RedisStore.fromClient(asClients([client!])[0]!, { prefix, scanCount: 7 })
      const expiry = yield* inFuture("10 minutes")
      const tokens = Array.from({ length: 300 }, (_, i) => `tok-${i}-${randomBytes(3).toString("hex")}`)
      yield* Effect.forEach(tokens, (token) => store.save(token, bytes(`value of ${token}`), expiry), {
        concurrency: 32,
        discard: true
      })
      const deleted = tokens.filter((_, i) => i % 10 === 0)
      yield* Effect.forEach(deleted, (token) => store.delete(token), { discard: true })
      yield* store.save("short", bytes("short"), yield* inFuture("300 millis"))
      yield* Effect.sleep("500 millis")

      // the keys really are spread over the three masters
      for (const port of redisCluster!.ports) {
        const reply = yield* promise(() => rawCommand(port, "DBSIZE"))
        assert.isAbove(Number(reply.slice(1)), 50, `master on ${port} holds a third of the keys`)
      }
      const raw = yield* promise(() => client!.getBuffer(`${prefix}${tokens[1]}`))
      assert.isTrue(raw!.equals(Buffer.from(`value of ${tokens[1]}`)))

      const all = yield* collect(store.all)
      const live = tokens.filter((token) => !deleted.includes(token)).sort()
      assert.deepStrictEqual(all.map(([token]) => token).sort(), live)
      for (const [token, data] of all) assert.deepStrictEqual(data, bytes(`value of ${token}`))
    }))

  it.live("keys deleted while all is running are skipped, not errors", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.fromClient(client!, { prefix: freshPrefix("vanish"), scanCount: 5 })
      const expiry = yield* inFuture("10 minutes")
      const tokens = Array.from({ length: 200 }, (_, i) => `v${i}`)
      yield* Effect.forEach(tokens, (token) => store.save(token, bytes(token), expiry), {
        concurrency: 32,
        discard: true
      })
      const doomed = new Set(tokens.filter((_, i) => i % 2 === 0))
      let first = true
      const all = yield* store.all.pipe(
        Stream.tap(() => {
          if (!first) return Effect.void
          first = false
          return Effect.forEach(doomed, (token) => store.delete(token), { concurrency: 32, discard: true })
        }),
        Stream.runCollect
      )
      const returned = all.map(([token]) => token)
      assert.strictEqual(new Set(returned).size, returned.length, "no token twice")
      for (const token of tokens) if (!doomed.has(token)) assert.include(returned, token)
      for (const [token, data] of all) assert.deepStrictEqual(data, bytes(token))
      assert.isBelow(returned.filter((token) => doomed.has(token)).length, doomed.size / 2)
    }))

  it.live("load, saveIf and touch on keys of every master (one key per script: no CROSSSLOT), also after SCRIPT FLUSH on each master", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("cluster-scripts")
      const store = yield* RedisStore.fromClient(asClients([client!])[0]!, { prefix })
      const expiry = yield* inFuture("10 minutes")
      const tokens = Array.from({ length: 60 }, (_, i) => `s${i}-${randomBytes(3).toString("hex")}`)
      const value = (token: string, round: number) => bytes(`${token} round ${round}`)
      const versions = new Map<string, string>()
      yield* Effect.forEach(
        tokens,
        (token) =>
          Effect.map(store.saveIf(token, value(token, 0), expiry, Option.none()), (version) => {
            assert.deepStrictEqual(version, Option.some(sha1(value(token, 0))))
            versions.set(token, Option.getOrThrow(version))
          }),
        { concurrency: 16, discard: true }
      )

      // the keys are spread over the three masters
      for (const port of redisCluster!.ports) {
        const node = yield* adminClient({ port })
        assert.isAtLeast((yield* scanAll(node, `${prefix}*`)).length, 5, `master on ${port} holds some of the keys`)
      }

      const round = (n: number) =>
        Effect.forEach(tokens, (token) =>
          Effect.gen(function*() {
            const entry = Option.getOrThrow(yield* store.load(token))
            assert.strictEqual(entry.version, versions.get(token))
            assert.deepStrictEqual(entry.data, value(token, n - 1))
            assert.isTrue(yield* store.touch(token, expiry, entry.version))
            const next = yield* store.saveIf(token, value(token, n), expiry, Option.some(entry.version))
            assert.deepStrictEqual(next, Option.some(sha1(value(token, n))))
            // the version just replaced is stale for both conditional writes
            assert.isTrue(
              Option.isNone(yield* store.saveIf(token, value(token, 99), expiry, Option.some(entry.version)))
            )
            assert.isFalse(yield* store.touch(token, expiry, entry.version))
            versions.set(token, Option.getOrThrow(next))
          }), { concurrency: 16, discard: true })
      yield* round(1)

      // each master forgets the scripts: every command falls back to EVAL on the node that answers NOSCRIPT
      for (const port of redisCluster!.ports) {
        const node = yield* adminClient({ port })
        yield* promise(() => node.script("FLUSH"))
      }
      yield* round(2)
      for (const port of redisCluster!.ports) {
        const node = yield* adminClient({ port })
        assert.deepStrictEqual(yield* promise(() => node.script("EXISTS", ...scriptShas)), [1, 1, 1])
      }

      // concurrent writers expecting one version: exactly one wins
      const token = tokens[0]!
      const expected = versions.get(token)!
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => bytes(`writer ${i}`)),
        (data) => store.saveIf(token, data, expiry, Option.some(expected)),
        { concurrency: "unbounded" }
      )
      const winners = outcomes.filter(Option.isSome)
      assert.strictEqual(winners.length, 1)
      assert.strictEqual(Option.getOrThrow(yield* store.load(token)).version, winners[0]!.value)
    }))

  // last in this suite: it stops a master
  it.live("a master down: all fails (never a partial success) within the bound, and recovers with it", () =>
    Effect.gen(function*() {
      const store = yield* RedisStore.fromClient(client!, { prefix: freshPrefix("cluster-down"), timeout: "1 second" })
      const expiry = yield* inFuture("10 minutes")
      const tokens = Array.from({ length: 60 }, (_, i) => `d${i}`)
      yield* Effect.forEach(tokens, (token) => store.save(token, bytes(token), expiry), { discard: true })
      const node = redisCluster!.nodes[1]!
      yield* promise(() => node.stop())
      for (let i = 0; i < 2; i++) {
        const [exit, elapsed] = yield* timed(Stream.runCollect(store.all))
        expectStoreError(exit, ["Unreachable", "Timeout"])
        assert.isBelow(elapsed, 1000 + 400)
      }
      const [findExit, findElapsed] = yield* timed(
        Effect.forEach(tokens, (token) => store.find(token), { concurrency: "unbounded" })
      )
      expectStoreError(findExit, ["Unreachable", "Timeout"])
      assert.isBelow(findElapsed, 1000 + 400)

      // the restarted master comes back empty (no persistence): write everything again once it answers
      yield* promise(() => node.start())
      yield* Effect.forEach(tokens, (token) => store.save(token, bytes(token), expiry), { discard: true }).pipe(
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "10 seconds" })))
      )
      const all = yield* collect(store.all)
      assert.deepStrictEqual(all.map(([token]) => token).sort(), [...tokens].sort())
    }))
})

// ---------------------------------------------------------------------------------------------------------------

describe("RedisStore process hygiene", () => {
  it("no unhandled rejection and no unhandled ioredis error event reached the process", async () => {
    await new Promise((resolve) => setTimeout(resolve, 200))
    process.off("unhandledRejection", onUnhandledRejection)
    console.error = consoleError
    assert.deepStrictEqual(unhandledRejections.map(String), [])
    assert.deepStrictEqual(escapedErrorEvents, [])
  })
})
