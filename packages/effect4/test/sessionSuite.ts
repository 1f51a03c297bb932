/**
 * The session behaviour suite (SCS's session tests, re-done through a real HTTP server), run against every engine:
 * the routes and the harness of the Effect 4 line; the scenarios are shared with the Effect 3 line
 * (`test/helpers/sessionScenarios.ts` at the root, Effect-free).
 */
import { describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { isSession, type Scenario, sessionScenarios } from "../../../test/helpers/sessionScenarios.js"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { serve, ServerLive } from "./helpers/http.js"

export const Message = Session.key("message", Schema.String)
const A = Session.key("a", Schema.Number)
const B = Session.key("b", Schema.Boolean)
const C = Session.key("c", Schema.Struct({ nested: Schema.Array(Schema.String) }))
// Effect 4's NumberFromString decodes "not-a-number" to NaN; FiniteFromString rejects it, as 3's NumberFromString does
const Strict = Session.key("message", Schema.FiniteFromString)

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

const text = (body: string) => HttpServerResponse.text(body)
const query = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => new URL(r.url, "http://x").searchParams.get(name))
const get = <E, R>(path: HttpRouter.PathInput, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  HttpRouter.route("GET", path, handler)

/** The seeds' `/put` and `/get`, plus a route per session operation, as router routes (they require `Session`). */
export const testRoutes = HttpRouter.addAll([
  get(
    "/put",
    Effect.gen(function*() {
      yield* Session.set(Message, (yield* query("value")) ?? "Hello world!")
      return text("OK")
    })
  ),
  get("/get", Effect.map(Session.get(Message), (m) => text(Option.getOrElse(m, () => "")))),
  get("/none", Effect.succeed(text("no session here"))),
  get("/destroy", Effect.as(Session.destroy, text("destroyed"))),
  get("/renew", Effect.as(Session.renew, text("renewed"))),
  get(
    "/remember",
    Effect.gen(function*() {
      yield* Session.rememberMe((yield* query("on")) === "1")
      return text("ok")
    })
  ),
  get(
    "/put-many",
    Effect.gen(function*() {
      yield* Session.set(C, { nested: ["x", "y"] })
      yield* Session.set(A, 1)
      yield* Session.set(B, true)
      return text("ok")
    })
  ),
  get("/keys", Effect.map(Session.keys, (keys) => text(keys.join(",")))),
  get("/pop", Effect.map(Session.pop(Message), (m) => text(Option.getOrElse(m, () => "(none)")))),
  get("/clear", Effect.as(Session.clear, text("cleared"))),
  get(
    "/status-flow",
    Effect.gen(function*() {
      const seen = [yield* Session.status]
      yield* Session.get(Message)
      seen.push(yield* Session.status)
      yield* Session.set(Message, "x")
      seen.push(yield* Session.status)
      yield* Session.destroy
      seen.push(yield* Session.status)
      yield* Session.set(Message, "after destroy")
      seen.push(yield* Session.status)
      return text(seen.join(","))
    })
  ),
  get("/token", Effect.map(Session.token, (t) => text(Option.getOrElse(t, () => "none")))),
  get(
    "/fail-after-set",
    Effect.gen(function*() {
      yield* Session.set(Message, "set before failing")
      return yield* new Boom()
    })
  ),
  get(
    "/expire-now",
    Effect.gen(function*() {
      yield* Session.setDeadline(yield* DateTime.now)
      return text("ok")
    })
  ),
  get("/strict", Effect.map(Session.get(Strict), (v) => text(String(Option.getOrElse(v, () => -1))))),
  get("/deadline", Effect.map(Session.deadline, (d) => text(String(DateTime.toEpochMillis(d)))))
])

/**
 * `testRoutes` as one app (an `Effect` that answers the current request, requiring `Session`), for
 * `HttpSession.middleware`; an unhandled `SessionError` is answered with its reason, as a 500.
 */
export const testApp = Effect.map(
  HttpRouter.toHttpEffect(testRoutes),
  (app) =>
    Effect.catchTag(
      app,
      "SessionError",
      (e) => Effect.succeed(HttpServerResponse.text(`SessionError:${e.reason}:${e.key ?? ""}`, { status: 500 }))
    )
)

/** Counts the store operations that reach the engine (a wrapper, not a stand-in: the engine does the work). */
export class StoreCalls
  extends Context.Service<StoreCalls, { find: number; save: number; touch: number; delete: number }>()(
    "test/StoreCalls"
  )
{}

export const counting = <E>(engine: Layer.Layer<Store.SessionStore, E>) =>
  Layer.effectContext(Effect.gen(function*() {
    const inner = yield* Store.SessionStore
    const calls = { find: 0, save: 0, touch: 0, delete: 0 }
    const store = Store.SessionStore.of({
      ...inner,
      find: (t) => Effect.suspend(() => (calls.find++, inner.find(t))),
      save: (t, d, e) => Effect.suspend(() => (calls.save++, inner.save(t, d, e))),
      delete: (t) => Effect.suspend(() => (calls.delete++, inner.delete(t))),
      // reads count as `find`, writes as `save`: what the session does, whichever operation it uses
      load: (t) => Effect.suspend(() => (calls.find++, inner.load(t))),
      saveIf: (t, d, e, v) => Effect.suspend(() => (calls.save++, inner.saveIf(t, d, e, v))),
      touch: (t, e, v) => Effect.suspend(() => (calls.touch++, inner.touch(t, e, v)))
    })
    return Context.make(StoreCalls, calls).pipe(Context.add(Store.SessionStore, store))
  })).pipe(Layer.provide(engine))

export const sessionSuite = <E>(
  name: string,
  makeStore: () => Layer.Layer<Store.SessionStore, E>,
  options: {
    /** The engine's backend expires entries on its own clock (Redis), which a `TestClock` cannot move. */
    readonly ownClock?: boolean
  } = {}
) => {
  const register = (scenario: Scenario) => {
    if (scenario.clock === "test-engine-expiry" && options.ownClock === true) {
      // the "live" idle-timeout scenario shows the same behaviour on the wall clock
      return it.skip(`${scenario.name} (the backend expires keys on its own clock, not a TestClock)`, () => {})
    }
    const live = scenario.clock === "live"
    return (live ? it.live : it.effect)(scenario.name, () =>
      Effect.gen(function*() {
        const jar = yield* serve(HttpSession.middleware(yield* testApp))
        const context = yield* Effect.context<Store.SessionStore | StoreCalls>()
        const run = Effect.runPromiseWith(context)
        yield* Effect.promise(() =>
          scenario.run({
            jar,
            adjust: (duration) =>
              live
                ? Promise.reject(new Error("adjust: this scenario runs on the wall clock"))
                : run(TestClock.adjust(duration as Duration.Input)),
            stored: (key) =>
              run(Effect.map(Store.find(key), (found) => Option.isSome(found) && isSession(found.value))),
            calls: Context.get(context, StoreCalls)
          })
        )
      }).pipe(
        Effect.provide(ServerLive),
        Effect.provide(Session.layer({ cookie: { secure: true }, ...scenario.options as Session.SessionOptions })),
        Effect.provide(counting(makeStore()))
      ), scenario.timeout)
  }

  describe(`${name}: sessions over HTTP`, () => {
    for (const scenario of sessionScenarios) if (scenario.group === undefined) register(scenario)
    describe("security", () => {
      for (const scenario of sessionScenarios) if (scenario.group === "security") register(scenario)
    })
  })
}
