/**
 * A user's sessions (issue 15) on every engine: MemStore, FileStore, RedisStore on a redis-server and on a 3-master
 * Redis Cluster this file starts. The scenarios are shared with the Effect 3 line
 * (`test/helpers/userSessionsScenarios.ts` at the root, Effect-free); this file builds their world on the Effect 4
 * line: a store opened in a scope of its own (so FileStore can be restarted on the same log), a `SessionManager`
 * over it, requests through `SessionManager.begin`, and a real HTTP server with the routes the scenarios describe.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { Cluster } from "ioredis"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { availability, RedisCluster, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import {
  clockOf,
  type Engine,
  engines,
  Gates,
  type Listed,
  type Loaded,
  optionsOf,
  type Outcome,
  type Request,
  type Scenario,
  type Seen,
  userSessionsScenarios,
  type World
} from "../../../test/helpers/userSessionsScenarios.js"
import * as FileStore from "../src/FileStore.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { serve, ServerLive } from "./helpers/http.js"

const redisReason = unavailableReason("binaries")
let redis: RedisServer | undefined
let cluster: RedisCluster | undefined
let clusterClient: Cluster | undefined
beforeAll(async () => {
  if (redisReason === undefined) {
    redis = await RedisServer.start()
    cluster = await RedisCluster.start()
    clusterClient = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })), {
      redisOptions: RedisStore.clientDefaults()
    })
    // this client is this file's: it listens to its errors for its whole life
    clusterClient.on("error", () => {})
    await new Promise<void>((resolve) => clusterClient!.once("ready", () => resolve()))
  } else if (availability.required) throw new Error(`REQUIRE_REDIS=1, but ${redisReason}`)
  else console.warn(`[userSessions] skipping RedisStore: ${redisReason}`)
})
afterAll(async () => {
  await clusterClient?.quit()
  await cluster?.dispose()
  await redis?.dispose()
})

const runId = randomBytes(4).toString("hex")
let prefixCounter = 0

// ---------------------------------------------------------------------------------------------------------------
// the routes (described in helpers/userSessionsScenarios.ts)

const Value = (name: string) => Session.key(name, Schema.String)

const text = (body: string) => HttpServerResponse.text(body)
const param = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => new URL(r.url, "http://x").searchParams.get(name))
const gate = (gates: Gates) =>
  Effect.flatMap(param("gate"), (name) => name === null ? Effect.void : Effect.promise(() => gates.pass(name)))

/** What a request sees of its session. */
const seenOf = (session: Session.SessionService): Effect.Effect<Seen, Session.SessionError> =>
  Effect.gen(function*() {
    const values: Record<string, string> = {}
    for (const name of yield* session.keys) {
      values[name] = Option.getOrElse(yield* session.get(Value(name)), () => "")
    }
    return {
      user: Option.getOrUndefined(yield* session.user),
      key: Option.getOrUndefined(yield* session.storeKey),
      values
    }
  })

const get = <E, R>(path: HttpRouter.PathInput, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  HttpRouter.route("GET", path, handler)

const app = (gates: Gates) =>
  HttpRouter.toHttpEffect(HttpRouter.addAll([
    get(
      "/login",
      Effect.gen(function*() {
        const user = (yield* param("user"))!
        yield* Session.renew
        yield* Session.setUser(user, { agent: (yield* param("agent"))! })
        yield* Session.set(Value("owner"), user)
        return text("ok")
      })
    ),
    get(
      "/set",
      Effect.gen(function*() {
        yield* Session.keys
        yield* gate(gates)
        yield* Session.set(Value((yield* param("k"))!), (yield* param("v"))!)
        return text("ok")
      })
    ),
    get(
      "/renew",
      Effect.gen(function*() {
        yield* Session.keys
        yield* gate(gates)
        yield* Session.renew
        return text("renewed")
      })
    ),
    get(
      "/read",
      Effect.map(Effect.flatMap(Session.Session, seenOf), (seen) =>
        text(JSON.stringify({ user: seen.user ?? null, key: seen.key ?? null, values: seen.values })))
    )
  ]))

// ---------------------------------------------------------------------------------------------------------------
// the world

const millis = (time: Option.Option<DateTime.Utc>) => Option.getOrUndefined(Option.map(time, DateTime.toEpochMillis))

const toListed = (s: Session.UserSession): Listed => ({
  key: s.key,
  userId: s.userId,
  createdAt: millis(s.createdAt),
  lastSeenAt: millis(s.lastSeenAt),
  expiresAt: DateTime.toEpochMillis(s.expiresAt),
  info: Option.getOrUndefined(s.info)
})

const toLoaded = (s: Session.StoredSession): Loaded => ({
  key: s.key,
  userId: Option.getOrUndefined(s.userId),
  createdAt: millis(s.createdAt),
  deadline: DateTime.toEpochMillis(s.deadline),
  values: s.values
})

const toOutcome = (result: Session.CommitResult): Outcome =>
  result._tag === "SetCookie" ? { _tag: "SetCookie", token: result.token } : { _tag: result._tag }

interface Opened {
  readonly scope: Scope.Closeable
  readonly store: Store.SessionStoreService
  readonly file: FileStore.FileStore | undefined
  readonly manager: Session.SessionManagerService
}

/** The engine's store, in a scope of its own; each world has its own log, or its own Redis key prefix. */
const openStore = (
  engine: Engine,
  scenario: Scenario,
  path: string,
  prefix: string
): Effect.Effect<{ store: Store.SessionStoreService; file?: FileStore.FileStore }, unknown, Scope.Scope> => {
  switch (engine) {
    case "MemStore":
      return Effect.map(MemStore.make(), (store) => ({ store }))
    case "FileStore":
      return Effect.map(
        Effect.provide(FileStore.make({ path, ...scenario.fileStore }), NodeFileSystem.layer),
        (store) => ({ store, file: store })
      )
    case "RedisStore":
      return Effect.map(RedisStore.make({ url: Redacted.make(redis!.url), prefix }), (store) => ({ store }))
    case "RedisCluster":
      return Effect.map(RedisStore.fromClient(clusterClient!, { prefix }), (store) => ({ store }))
  }
}

const runScenario = (engine: Engine, scenario: Scenario) =>
  Effect.gen(function*() {
    const run = Effect.runPromiseWith(yield* Effect.context<never>())
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(Path.join(tmpdir(), "effect-session-users-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const prefix = `user-sessions:${runId}:${prefixCounter++}:`
    const options = optionsOf(scenario, engine)
    const open = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { file, store } = yield* Scope.provide(scope)(
        openStore(engine, scenario, Path.join(dir, "sessions.log"), prefix)
      )
      const manager = yield* Session.makeManager(options).pipe(Effect.provideService(Store.SessionStore, store))
      return { scope, store, file, manager } satisfies Opened
    })
    let opened = yield* open
    yield* Effect.addFinalizer(() => Scope.close(opened.scope, Exit.void))

    const gates = new Gates()
    const routes = HttpSession.middleware(yield* app(gates))
    // the server's session layer is whichever store is open now (a FileStore restart replaces it)
    const jar = yield* serve(
      Effect.suspend(() => Effect.provideService(routes, Session.SessionManager, opened.manager))
    )
    const clock = clockOf(engine)
    const request = (handle: Session.SessionHandle): Request => ({
      read: () => run(seenOf(handle.session)),
      set: (name, value) => run(handle.session.set(Value(name), value)),
      setUser: (user, info) => run(handle.session.setUser(user, info)),
      renew: () => run(handle.session.renew),
      destroy: () => run(handle.session.destroy),
      setDeadline: (at) => run(handle.session.setDeadline(DateTime.makeUnsafe(at))),
      commit: () => run(Effect.map(handle.commit, toOutcome))
    })
    const world: World = {
      engine,
      clock,
      now: () => run(Clock.currentTimeMillis),
      wait: (ms) =>
        ms <= 0
          ? Promise.resolve()
          : clock === "test"
          ? run(TestClock.adjust(ms))
          : new Promise((resolve) => setTimeout(resolve, ms)),
      begin: (token) => request(opened.manager.begin(token)),
      list: (user) => run(Effect.map(opened.manager.listUserSessions(user), (list) => list.map(toListed))),
      revokeSession: (key) => run(opened.manager.revokeSession(key)),
      revokeAll: (user, except) => run(opened.manager.revokeUserSessions(user, { except })),
      load: (key) =>
        run(Effect.map(opened.manager.loadSession(key), (s) => Option.getOrUndefined(Option.map(s, toLoaded)))),
      sessions: () => run(Effect.map(Stream.runCollect(opened.manager.sessions), (all) => all.map(toLoaded))),
      raw: (key) =>
        run(Effect.map(opened.store.load(key), (found) =>
          Option.isSome(found)
            ? { version: found.value.version, expiry: DateTime.toEpochMillis(found.value.expiry) }
            : undefined)),
      base: jar.base,
      gates,
      file: engine === "FileStore"
        ? {
          restart: () =>
            run(Effect.gen(function*() {
              yield* Scope.close(opened.scope, Exit.void)
              opened = yield* open
            })),
          compact: () => run(opened.file!.compact),
          logSize: () => run(opened.file!.logSize),
          liveSize: () => run(opened.file!.liveSize)
        }
        : undefined
    }
    yield* Effect.promise(() => scenario.run(world))
  }).pipe(Effect.provide(ServerLive))

// ---------------------------------------------------------------------------------------------------------------

describe("a user's sessions (issue 15)", () => {
  for (const engine of engines) {
    describe(engine, () => {
      for (const scenario of userSessionsScenarios) {
        if (scenario.engines !== undefined && !scenario.engines.includes(engine)) continue
        if (clockOf(engine) === "live" && redisReason !== undefined) it.skip(scenario.name, () => {})
        else {
          const test = clockOf(engine) === "test" ? it.effect : it.live
          test(scenario.name, () => runScenario(engine, scenario), scenario.timeout)
        }
      }
    })
  }
})
