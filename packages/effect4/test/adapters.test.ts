/**
 * The three HTTP adapters, each through a real server, and what a failing store does to a request.
 * Effect 4 line; the Effect 3 line runs the same checks from the root `test/adapters.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { failingStoreChecks, loginApiFlow } from "../../../test/helpers/httpScenarios.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { baseUrl, CookieJar, serve, ServerLive } from "./helpers/http.js"
import { Message, testApp } from "./sessionSuite.js"

const seedRoutes = HttpRouter.addAll([
  HttpRouter.route(
    "GET",
    "/put",
    Effect.as(Session.set(Message, "from the router"), HttpServerResponse.text("OK"))
  ),
  HttpRouter.route(
    "GET",
    "/get",
    Effect.map(Session.get(Message), (m) => HttpServerResponse.text(Option.getOrElse(m, () => "")))
  )
])
/** A route that never asks for the session: with route middleware it gets none, with global middleware it does. */
const plainRoute = HttpRouter.add("GET", "/plain", HttpServerResponse.text("plain"))

/** Serves a router app layer on a fresh server (in the test's scope) and returns a jar pointed at it. */
const serveRouter = <E, R>(app: Layer.Layer<never, E, R>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(ServerLive),
        Layer.provide(Session.layer()),
        Layer.provide(MemStore.layer())
      )
    )
    return new CookieJar(yield* Effect.provideContext(baseUrl, context))
  })

describe("HttpSession adapters", () => {
  it.live("HttpRouter middleware (layerRouter): sessions across requests through a real server", () =>
    Effect.gen(function*() {
      const jar = yield* serveRouter(
        Layer.mergeAll(seedRoutes.pipe(Layer.provide(HttpSession.layerRouter)), plainRoute)
      )
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; /)
      assert.strictEqual(put.headers.get("vary"), "Cookie")
      const get = yield* jar.request("/get")
      assert.strictEqual(get.body, "from the router")
      assert.deepStrictEqual(get.setCookies, [])
      // a route the middleware was not provided to is left alone: no Vary, no session
      const plain = yield* jar.request("/plain")
      assert.strictEqual(plain.body, "plain")
      assert.isNull(plain.headers.get("vary"))
    }).pipe(Effect.scoped))

  it.live("HttpRouter global middleware (layerRouterGlobal): every route has the session", () =>
    Effect.gen(function*() {
      const jar = yield* serveRouter(
        Layer.mergeAll(seedRoutes, plainRoute).pipe(Layer.provide(HttpSession.layerRouterGlobal))
      )
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; /)
      assert.strictEqual((yield* jar.request("/get")).body, "from the router")
      const plain = yield* jar.request("/plain")
      assert.strictEqual(plain.body, "plain")
      assert.strictEqual(plain.headers.get("vary"), "Cookie", "the global middleware wraps every route")
      // an unknown path still answers 404, and the session middleware does not turn it into something else
      const missing = yield* jar.request("/nowhere")
      assert.strictEqual(missing.status, 404)
      assert.deepStrictEqual(missing.setCookies, [])
    }).pipe(Effect.scoped))

  it.live("HttpApi middleware: the login example's API (login renews, whoami reads, logout destroys)", () =>
    Effect.gen(function*() {
      const { ApiLive } = yield* Effect.promise(() => import("../examples/login.js"))
      const jar = yield* serveRouter(ApiLive)

      yield* Effect.promise(() => loginApiFlow(jar))
    }).pipe(Effect.scoped))

  it.live("a failing store: the handler gets a typed SessionError, unhandled it is a 503 with no internals", () =>
    Effect.gen(function*() {
      // a real MemStore whose layer has been released: every operation fails with reason "Closed"
      const closed = yield* Effect.scoped(MemStore.make())
      const app = yield* HttpRouter.toHttpEffect(HttpRouter.addAll([
        HttpRouter.route(
          "GET",
          "/handled",
          Session.get(Message).pipe(
            Effect.as(HttpServerResponse.text("loaded")),
            Effect.catchTag("SessionError", (e) => Effect.succeed(HttpServerResponse.text(`handled ${e.reason}`)))
          )
        ),
        HttpRouter.route(
          "GET",
          "/set",
          Effect.as(Session.set(Message, "x"), HttpServerResponse.text("should not be sent"))
        ),
        HttpRouter.route(
          "GET",
          "/read",
          Effect.as(Session.get(Message), HttpServerResponse.text("should not be sent"))
        ),
        HttpRouter.route("GET", "/none", Effect.succeed(HttpServerResponse.text("fine")))
      ]))
      const jar = yield* serve(HttpSession.middleware(app)).pipe(
        Effect.provide(Session.layer()),
        Effect.provideService(Store.SessionStore, closed)
      )
      yield* Effect.promise(() => failingStoreChecks(jar))
    }).pipe(Effect.provide(ServerLive), Effect.scoped))

  it.effect("a __Host- cookie with options it forbids is rejected when the layer is built", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(
          Session.layer({ cookie: { name: "__Host-session", domain: "example.com", path: "/app" } }).pipe(
            Layer.provide(MemStore.layer())
          )
        )
      )
      assert.strictEqual(error._tag, "SessionError")
      assert.include(error.message, "__Host-")
      assert.include(error.message, "path: \"/\"")
      assert.include(error.message, "no domain")
      const ok = yield* Effect.exit(
        Layer.build(Session.layer({ cookie: { name: "__Host-session" } }).pipe(Layer.provide(MemStore.layer())))
      )
      assert.isTrue(Exit.isSuccess(ok))
      const sameSiteNone = yield* Effect.flip(
        Layer.build(
          Session.layer({ cookie: { sameSite: "none", secure: false } }).pipe(Layer.provide(MemStore.layer()))
        )
      )
      assert.include(sameSiteNone.message, "sameSite")
    }).pipe(Effect.scoped))

  it.live("duplicate session cookies: the first one is used, other cookies are ignored", () =>
    Effect.gen(function*() {
      const jar = yield* serve(HttpSession.middleware(yield* testApp))
      yield* jar.request("/put?value=mine")
      const token = jar.get("session")!
      const header = `other=1; session=${token}; session=${"B".repeat(43)}; x=%41`
      assert.strictEqual((yield* jar.request("/get", { cookie: header })).body, "mine")
    }).pipe(
      Effect.provide(ServerLive),
      Effect.provide(Session.layer()),
      Effect.provide(MemStore.layer()),
      Effect.scoped
    ))
})
