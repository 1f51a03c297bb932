/**
 * Concurrent requests of one session (issue 13), through a real server on every engine: the routes and the
 * harness of the Effect 3 line; the scenarios and the property are shared with the Effect 4 line
 * (`helpers/concurrencyScenarios.ts`, Effect-free).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import {
  concurrencyScenarios,
  type Engine,
  Gates,
  interleavingsProperty,
  type Op,
  type Outcome,
  type PropertyWorld,
  type Scenario
} from "./helpers/concurrencyScenarios.js"
import { serve, ServerLive } from "./helpers/http.js"
import { availability, RedisServer, unavailableReason } from "./helpers/redis.js"
import { counting, StoreCalls, tempFileStore } from "./sessionSuite.js"

const redisReason = unavailableReason("binaries")
let redis: RedisServer | undefined
beforeAll(async () => {
  if (redisReason === undefined) redis = await RedisServer.start()
  else if (availability.required) throw new Error(`REQUIRE_REDIS=1, but ${redisReason}`)
  else console.warn(`[concurrency] skipping RedisStore: ${redisReason}`)
})
afterAll(async () => {
  await redis?.dispose()
})

const runId = randomBytes(4).toString("hex")
let prefixCounter = 0

const engineLayer = (engine: Engine, scenario: Scenario): Layer.Layer<Store.SessionStore, unknown> => {
  switch (engine) {
    case "MemStore":
      return MemStore.layer()
    case "FileStore":
      return tempFileStore()
    case "RedisStore":
      return RedisStore.layer({
        url: Redacted.make(redis!.url),
        prefix: `concurrency:${runId}:${prefixCounter++}:`,
        ...(scenario.redisTimeout === undefined ? {} : { timeout: scenario.redisTimeout })
      })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the routes (described in helpers/concurrencyScenarios.ts)

const User = Session.key("user", Schema.String)
const Late = Session.key("late", Schema.String)
const keyOf = (name: string) => Session.key(name, Schema.String)

const text = (body: string) => HttpServerResponse.text(body)
const param = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => new URL(r.url, "http://x").searchParams.get(name))
const pause = (name: string) =>
  Effect.flatMap(param(name), (ms) => ms === null ? Effect.void : Effect.sleep(Number(ms)))

/** Passes the gate named by the query's `gate`, if any (see `Gates`). */
const gate = (gates: Gates) =>
  Effect.flatMap(param("gate"), (name) => name === null ? Effect.void : Effect.promise(() => gates.pass(name)))

const readAll = Effect.gen(function*() {
  const out: Record<string, string> = {}
  for (const name of yield* Session.keys) out[name] = Option.getOrElse(yield* Session.get(keyOf(name)), () => "")
  return out
})

const outcome = <A>(effect: Effect.Effect<A, Session.SessionError, Session.Session>) =>
  Effect.match(effect, { onFailure: (error) => error.reason as string, onSuccess: () => "saved" })

const app = (late: Array<string>, gates: Gates) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/login",
      Effect.gen(function*() {
        yield* Session.renew
        yield* Session.set(User, (yield* param("user")) ?? "alice")
        return text("ok")
      })
    ),
    HttpRouter.get("/logout", Effect.as(Session.destroy, text("bye"))),
    HttpRouter.get(
      "/set",
      Effect.gen(function*() {
        if ((yield* param("read")) === "1") yield* Session.keys
        yield* gate(gates)
        yield* pause("delay")
        yield* Session.set(keyOf((yield* param("k"))!), (yield* param("v"))!)
        return text("ok")
      })
    ),
    HttpRouter.get(
      "/read",
      Effect.gen(function*() {
        yield* pause("delay")
        const all = yield* readAll
        yield* gate(gates)
        yield* pause("hold")
        return text(JSON.stringify(all))
      })
    ),
    HttpRouter.get(
      "/renew",
      Effect.gen(function*() {
        yield* Session.renew
        yield* gate(gates)
        yield* pause("delay")
        return text("renewed")
      })
    ),
    HttpRouter.get("/clear", Effect.as(Session.clear, text("cleared"))),
    HttpRouter.get("/none", Effect.succeed(text("none"))),
    HttpRouter.get(
      "/late",
      Effect.gen(function*() {
        yield* Session.keys
        const delay = Number((yield* param("delay")) ?? "0")
        yield* Effect.forkDaemon(
          Effect.flatMap(
            outcome(Effect.andThen(Effect.sleep(delay), Session.set(Late, "late"))),
            (o) => Effect.sync(() => late.push(o))
          )
        )
        return text("ok")
      })
    ),
    HttpRouter.get(
      "/late-loop",
      Effect.gen(function*() {
        yield* Session.keys
        const loop = (i: number): Effect.Effect<void, never, Session.Session> =>
          Effect.flatMap(outcome(Session.set(keyOf(`l${i}`), "x")), (o) => {
            late.push(o === "saved" ? `saved:l${i}` : o)
            return o === "saved" && i < 10_000 ? Effect.andThen(Effect.yieldNow(), loop(i + 1)) : Effect.void
          })
        yield* Effect.forkDaemon(loop(0))
        return text("ok")
      })
    ),
    HttpSession.middleware
  )

/** A logger that collects every line into `lines`, in place of the default one. */
const collect = (lines: Array<{ level: string; message: string }>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      lines.push({ level: logLevel.label, message: parts.map(String).join(" ") })
    })
  )

const runScenario = (engine: Engine, scenario: Scenario) => {
  const late: Array<string> = []
  const gates = new Gates()
  const logs: Array<{ level: string; message: string }> = []
  return Effect.gen(function*() {
    const jar = yield* serve(app(late, gates))
    const runtime = yield* Effect.runtime<Store.SessionStore | StoreCalls>()
    const run = Runtime.runPromise(runtime)
    yield* Effect.promise(() =>
      scenario.run({
        base: jar.base,
        engine,
        entry: (key) =>
          run(Effect.map(Store.load(key), (found) =>
            Option.isSome(found)
              ? { version: found.value.version, expiry: DateTime.toEpochMillis(found.value.expiry) }
              : undefined)),
        count: () => run(Stream.runCount(Store.all)),
        calls: Context.get(runtime.context, StoreCalls),
        late,
        logs,
        redis,
        gates
      })
    )
  }).pipe(
    Effect.provide(ServerLive),
    Effect.provide(Session.layer(scenario.options ?? {})),
    Effect.provide(counting(engineLayer(engine, scenario))),
    Effect.scoped,
    Effect.provide(collect(logs))
  )
}

// ---------------------------------------------------------------------------------------------------------------
// the property's world: a fresh MemStore and SessionManager, requests driven through `SessionManager.begin`

const applyOp = (session: Session.SessionService, op: Op): Effect.Effect<void, Session.SessionError> => {
  switch (op._tag) {
    case "set":
      return session.set(keyOf(op.key), op.value)
    case "remove":
      return session.remove(keyOf(op.key))
    case "clear":
      return session.clear
    case "renew":
      return session.renew
    case "destroy":
      return session.destroy
  }
}

const toOutcome = (result: Session.CommitResult): Outcome =>
  result._tag === "SetCookie" ? { _tag: "SetCookie", token: result.token } : { _tag: result._tag }

const fresh = async <A>(f: (world: PropertyWorld) => Promise<A>): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const store = await Effect.runPromise(Scope.extend(MemStore.make(), scope))
    const manager = await Effect.runPromise(
      Effect.provideService(Session.makeManager(), Store.SessionStore, store)
    )
    return await f({
      begin: (token) => {
        const handle = manager.begin(token === undefined ? undefined : token)
        return {
          handle: (ops) =>
            Effect.runPromise(Effect.gen(function*() {
              yield* handle.session.keys
              for (const op of ops) yield* applyOp(handle.session, op)
            })),
          commit: () => Effect.runPromise(Effect.map(handle.commit, toOutcome))
        }
      },
      entries: () => Effect.runPromise(Stream.runCollect(store.all)).then((chunk) => Array.from(chunk))
    })
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe("concurrent requests of one session (issue 13)", () => {
  for (const engine of ["MemStore", "FileStore", "RedisStore"] as const) {
    describe(engine, () => {
      for (const scenario of concurrencyScenarios) {
        if (scenario.engines !== undefined && !scenario.engines.includes(engine)) continue
        if (engine === "RedisStore" && redisReason !== undefined) it.skip(scenario.name, () => {})
        else it.live(scenario.name, () => runScenario(engine, scenario), scenario.timeout)
      }
    })
  }

  it(
    "property: random interleavings of set/remove/clear/renew/destroy across 2-4 requests match the model",
    () => interleavingsProperty(fresh),
    30_000
  )
})
