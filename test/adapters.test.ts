/**
 * The three HTTP adapters, each through a real server, and what a failing store does to a request.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { baseUrl, CookieJar, serve, ServerLive } from "./helpers/http.js"
import { failingStoreChecks, loginApiFlow } from "./helpers/httpScenarios.js"
import { Message, testApp } from "./sessionSuite.js"

const seedRoutes = HttpLayerRouter.use((router) =>
  Effect.all([
    router.add("GET", "/put", Effect.as(Session.set(Message, "from the layer router"), HttpServerResponse.text("OK"))),
    router.add(
      "GET",
      "/get",
      Effect.map(Session.get(Message), (m) => HttpServerResponse.text(Option.getOrElse(m, () => "")))
    )
  ])
)

describe("HttpSession adapters", () => {
  it.live("HttpLayerRouter middleware: sessions across requests through a real server", () =>
    Effect.gen(function*() {
      const jar = new CookieJar(yield* baseUrl)
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; /)
      assert.strictEqual(put.headers.get("vary"), "Cookie")
      const get = yield* jar.request("/get")
      assert.strictEqual(get.body, "from the layer router")
      assert.deepStrictEqual(get.setCookies, [])
    }).pipe(
      Effect.provide(
        HttpLayerRouter.serve(seedRoutes.pipe(Layer.provide(HttpSession.layerRouter)), {
          disableLogger: true,
          disableListenLog: true
        }).pipe(
          Layer.provideMerge(ServerLive),
          Layer.provide(Session.layer()),
          Layer.provide(MemStore.layer())
        )
      )
    ))

  it.live("HttpApi middleware: the login example's API (login renews, whoami reads, logout destroys)", () =>
    Effect.gen(function*() {
      const { ApiLive } = yield* Effect.promise(() => import("../examples/login.js"))
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        HttpApiBuilder.serve().pipe(
          Layer.provide(ApiLive),
          Layer.provideMerge(ServerLive),
          Layer.provide(Session.layer()),
          Layer.provide(MemStore.layer())
        ),
        scope
      )
      const jar = new CookieJar(yield* Effect.provide(baseUrl, context))

      yield* Effect.promise(() => loginApiFlow(jar))
      yield* Scope.close(scope, Exit.void)
    }))

  it.live("a failing store: the handler gets a typed SessionError, unhandled it is a 503 with no internals", () =>
    Effect.gen(function*() {
      // a real MemStore whose layer has been released: every operation fails with reason "Closed"
      const closed = yield* Effect.scoped(MemStore.make())
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/handled",
          Session.get(Message).pipe(
            Effect.as(HttpServerResponse.text("loaded")),
            Effect.catchTag("SessionError", (e) => Effect.succeed(HttpServerResponse.text(`handled ${e.reason}`)))
          )
        ),
        HttpRouter.get("/set", Effect.as(Session.set(Message, "x"), HttpServerResponse.text("should not be sent"))),
        HttpRouter.get("/read", Effect.as(Session.get(Message), HttpServerResponse.text("should not be sent"))),
        HttpRouter.get("/none", Effect.succeed(HttpServerResponse.text("fine"))),
        HttpSession.middleware
      )
      const jar = yield* serve(app).pipe(
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
      const jar = yield* serve(HttpSession.middleware(testApp))
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
