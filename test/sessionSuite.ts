/**
 * The session behaviour suite (SCS's session tests, re-done through a real HTTP server), run against every engine:
 * the routes and the harness of the Effect 3 line; the scenarios are shared with the Effect 4 line
 * (`helpers/sessionScenarios.ts`, Effect-free).
 */
import { NodeFileSystem } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as FileStore from "../src/FileStore.js"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { serve, ServerLive } from "./helpers/http.js"
import { isSession, type Scenario, sessionScenarios } from "./helpers/sessionScenarios.js"

export const Message = Session.key("message", Schema.String)
const A = Session.key("a", Schema.Number)
const B = Session.key("b", Schema.Boolean)
const C = Session.key("c", Schema.Struct({ nested: Schema.Array(Schema.String) }))
const Strict = Session.key("message", Schema.NumberFromString)

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

const text = (body: string) => HttpServerResponse.text(body)
const query = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => new URL(r.url, "http://x").searchParams.get(name))

/** The seeds' `/put` and `/get`, plus a route per session operation. */
export const testApp = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/put",
    Effect.gen(function*() {
      yield* Session.set(Message, (yield* query("value")) ?? "Hello world!")
      return text("OK")
    })
  ),
  HttpRouter.get("/get", Effect.map(Session.get(Message), (m) => text(Option.getOrElse(m, () => "")))),
  HttpRouter.get("/none", Effect.succeed(text("no session here"))),
  HttpRouter.get("/destroy", Effect.as(Session.destroy, text("destroyed"))),
  HttpRouter.get("/renew", Effect.as(Session.renew, text("renewed"))),
  HttpRouter.get(
    "/remember",
    Effect.gen(function*() {
      yield* Session.rememberMe((yield* query("on")) === "1")
      return text("ok")
    })
  ),
  HttpRouter.get(
    "/put-many",
    Effect.gen(function*() {
      yield* Session.set(C, { nested: ["x", "y"] })
      yield* Session.set(A, 1)
      yield* Session.set(B, true)
      return text("ok")
    })
  ),
  HttpRouter.get("/keys", Effect.map(Session.keys, (keys) => text(keys.join(",")))),
  HttpRouter.get("/pop", Effect.map(Session.pop(Message), (m) => text(Option.getOrElse(m, () => "(none)")))),
  HttpRouter.get("/clear", Effect.as(Session.clear, text("cleared"))),
  HttpRouter.get(
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
  HttpRouter.get(
    "/token",
    Effect.map(Session.token, (t) => text(Option.getOrElse(t, () => "none")))
  ),
  HttpRouter.get(
    "/fail-after-set",
    Effect.gen(function*() {
      yield* Session.set(Message, "set before failing")
      return yield* new Boom()
    })
  ),
  HttpRouter.get(
    "/expire-now",
    Effect.gen(function*() {
      yield* Session.setDeadline(yield* DateTime.now)
      return text("ok")
    })
  ),
  HttpRouter.get("/strict", Effect.map(Session.get(Strict), (v) => text(String(Option.getOrElse(v, () => -1))))),
  HttpRouter.get(
    "/deadline",
    Effect.map(Session.deadline, (d) => text(String(DateTime.toEpochMillis(d))))
  ),
  HttpRouter.catchTag(
    "SessionError",
    (e) => Effect.succeed(HttpServerResponse.text(`SessionError:${e.reason}:${e.key ?? ""}`, { status: 500 }))
  )
)

/** Counts the store operations that reach the engine (a wrapper, not a stand-in: the engine does the work). */
export class StoreCalls
  extends Context.Tag("test/StoreCalls")<StoreCalls, { find: number; save: number; touch: number; delete: number }>()
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

/** A FileStore on a log in a fresh temporary folder, removed when the layer is released. */
export const tempFileStore = (options: Omit<FileStore.FileStoreOptions, "path"> = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "session-suite-" })
    return FileStore.layer({ ...options, path: `${dir}/sessions.log` })
  })).pipe(Layer.provide(NodeFileSystem.layer))

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
        const jar = yield* serve(HttpSession.middleware(testApp))
        const runtime = yield* Effect.runtime<Store.SessionStore | StoreCalls>()
        const run = Runtime.runPromise(runtime)
        yield* Effect.promise(() =>
          scenario.run({
            jar,
            adjust: (duration) =>
              live
                ? Promise.reject(new Error("adjust: this scenario runs on the wall clock"))
                : run(TestClock.adjust(duration as Duration.DurationInput)),
            stored: (key) =>
              run(Effect.map(Store.find(key), (found) => Option.isSome(found) && isSession(found.value))),
            calls: Context.get(runtime.context, StoreCalls)
          })
        )
      }).pipe(
        Effect.provide(ServerLive),
        Effect.provide(Session.layer({ cookie: { secure: true }, ...scenario.options as Session.SessionOptions })),
        Effect.provide(counting(makeStore())),
        Effect.scoped
      ), scenario.timeout)
  }

  describe(`${name}: sessions over HTTP`, () => {
    for (const scenario of sessionScenarios) if (scenario.group === undefined) register(scenario)
    describe("security", () => {
      for (const scenario of sessionScenarios) if (scenario.group === "security") register(scenario)
    })
  })
}
