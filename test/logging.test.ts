/**
 * What the session logs for one request (a `Logger` collects the server's lines into an array). Effect 3 line; the
 * Effect 4 line runs the same scenarios from `packages/effect4/test/logging.test.ts`.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { baseUrl, CookieJar, serve, ServerLive } from "./helpers/http.js"
import {
  insecureWarningScenario,
  type LogLine,
  outageLogsOnce,
  schemaChangeAnswers,
  secureAutoScenario
} from "./helpers/loggingScenarios.js"
import { Message } from "./sessionSuite.js"

/** A logger that collects every line into `lines`, in place of the default one. */
const collect = (lines: Array<LogLine>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      lines.push({ level: logLevel.label, message: parts.map(String).join(" ") })
    })
  )

// the key `cart` before and after a deploy that changed its schema, and read leniently
const CartV1 = Session.key("cart", Schema.String)
const CartV2 = Session.key("cart", Schema.Number)
const CartLenient = Session.key("cart", Schema.Number, { onDecodeError: "absent" })

const put = Effect.as(Session.set(CartV1, "socks"), HttpServerResponse.text("OK"))
const get = Effect.map(Session.get(CartV2), (n) => HttpServerResponse.text(String(n)))
const lenient = Effect.map(
  Session.get(CartLenient),
  (n) => HttpServerResponse.text(Option.match(n, { onNone: () => "absent", onSome: String }))
)

class Carts extends HttpApiGroup.make("carts")
  .add(HttpApiEndpoint.get("put", "/put").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("get", "/get").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("lenient", "/lenient").addSuccess(Schema.String))
  .middleware(HttpSession.HttpApiSession)
{}
class CartApi extends HttpApi.make("carts").add(Carts) {}
const CartsLive = HttpApiBuilder.group(
  CartApi,
  "carts",
  (h) =>
    h.handle("put", () => Effect.as(Session.set(CartV1, "socks"), "OK"))
      .handle("get", () => Effect.map(Session.get(CartV2), String))
      .handle(
        "lenient",
        () => Effect.map(Session.get(CartLenient), Option.match({ onNone: () => "absent", onSome: String }))
      )
)
const CartApiLive = HttpApiBuilder.api(CartApi).pipe(
  Layer.provide(CartsLive),
  Layer.provide(HttpSession.layerHttpApi)
)

/** Builds a server layer in the test's scope and returns a jar pointed at it. */
const jarOf = <E, R>(
  server: Layer.Layer<never, E, R>,
  store: Layer.Layer<Store.SessionStore, Store.SessionStoreError> = MemStore.layer()
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      server.pipe(Layer.provideMerge(ServerLive), Layer.provide(Session.layer()), Layer.provide(store))
    )
    return new CookieJar(yield* Effect.provide(baseUrl, context))
  })

describe("logging", () => {
  it.live("a schema change, HttpSession.middleware: an empty 500, logged once with the key", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/put", put),
        HttpRouter.get("/get", get),
        HttpRouter.get("/lenient", lenient),
        HttpSession.middleware
      )
      const jar = yield* serve(app)
      yield* Effect.promise(() => schemaChangeAnswers(jar, lines))
    }).pipe(
      Effect.provide(ServerLive),
      Effect.provide(Session.layer()),
      Effect.provide(MemStore.layer()),
      Effect.scoped,
      Effect.provide(collect(lines))
    )
  })

  it.live("a schema change, HttpSession.layerRouter: an empty 500, logged once with the key", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const routes = HttpLayerRouter.use((router) =>
        Effect.all([
          router.add("GET", "/put", put),
          router.add("GET", "/get", get),
          router.add("GET", "/lenient", lenient)
        ])
      )
      const jar = yield* jarOf(
        HttpLayerRouter.serve(routes.pipe(Layer.provide(HttpSession.layerRouter)), {
          disableLogger: true,
          disableListenLog: true
        })
      )
      yield* Effect.promise(() => schemaChangeAnswers(jar, lines))
    }).pipe(Effect.scoped, Effect.provide(collect(lines)))
  })

  it("HttpApiSession declares what it answers: an empty 503 and an empty 500", () => {
    const spec = OpenApi.fromApi(CartApi)
    const responses = spec.paths["/get"]?.get?.responses ?? {}
    assert.includeMembers(Object.keys(responses), ["200", "500", "503"])
    assert.isUndefined(responses["500"]?.content, "no body")
    assert.isUndefined(responses["503"]?.content, "no body")
  })

  it.live("a schema change, HttpApiSession: an empty 500, logged once with the key", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const jar = yield* jarOf(HttpApiBuilder.serve().pipe(Layer.provide(CartApiLive)))
      yield* Effect.promise(() => schemaChangeAnswers(jar, lines))
    }).pipe(Effect.scoped, Effect.provide(collect(lines)))
  })

  it.live("HttpApiSession over a failing store: an empty 503, logged once", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const closed = yield* Effect.scoped(MemStore.make())
      const jar = yield* jarOf(
        HttpApiBuilder.serve().pipe(Layer.provide(CartApiLive)),
        Layer.succeed(Store.SessionStore, closed)
      )
      const read = yield* jar.request("/get", { cookie: `session=${"A".repeat(43)}` })
      assert.strictEqual(read.status, 503)
      assert.strictEqual(read.body, "")
      assert.deepStrictEqual(lines.map((l) => l.level), ["ERROR"])
    }).pipe(Effect.scoped, Effect.provide(collect(lines)))
  })

  it.live("a store outage: one line per failed request", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      // a real MemStore whose layer has been released: every operation fails with reason "Closed"
      const closed = yield* Effect.scoped(MemStore.make())
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/read", Effect.as(Session.get(Message), HttpServerResponse.text("should not be sent"))),
        HttpRouter.get("/set", Effect.as(Session.set(Message, "x"), HttpServerResponse.text("should not be sent"))),
        HttpRouter.get("/none", Effect.succeed(HttpServerResponse.text("fine"))),
        HttpRouter.get(
          "/handled",
          Session.get(Message).pipe(
            Effect.zipRight(Session.get(Message)),
            Effect.as(HttpServerResponse.text("loaded")),
            Effect.catchTag("SessionError", (e) => Effect.succeed(HttpServerResponse.text(`handled ${e.reason}`)))
          )
        ),
        HttpSession.middleware
      )
      const jar = yield* serve(app).pipe(
        Effect.provide(Session.layer({ idleTimeout: "1 hour" })),
        Effect.provideService(Store.SessionStore, closed)
      )
      yield* Effect.promise(() => outageLogsOnce(jar, lines))
    }).pipe(Effect.provide(ServerLive), Effect.scoped, Effect.provide(collect(lines)))
  })

  describe("the Secure attribute over plain HTTP", () => {
    /** Serves `/put` (through `middleware`) with `options` and runs `scenario` against it. */
    const withServer = (
      options: Session.SessionOptions,
      scenario: (base: string, lines: Array<LogLine>) => Promise<void>
    ) => {
      const lines: Array<LogLine> = []
      return Effect.gen(function*() {
        const jar = yield* serve(HttpSession.middleware(HttpRouter.empty.pipe(HttpRouter.get("/put", put))))
        yield* Effect.promise(() => scenario(jar.base, lines))
      }).pipe(
        Effect.provide(ServerLive),
        Effect.provide(Session.layer(options)),
        Effect.provide(MemStore.layer()),
        Effect.scoped,
        Effect.provide(collect(lines))
      )
    }

    it.live("secure: \"auto\" without trustProxy", () =>
      withServer({ cookie: { secure: "auto" } }, (base, lines) => secureAutoScenario(base, false, lines)))
    it.live("secure: \"auto\" with trustProxy", () =>
      withServer(
        { cookie: { secure: "auto" }, trustProxy: true },
        (base, lines) => secureAutoScenario(base, true, lines)
      ))
    it.live("secure: true (default): one warning per layer for a plain-HTTP request to a remote host", () =>
      withServer({}, (base, lines) => insecureWarningScenario(base, false, lines)))
    it.live("secure: true behind a trusted proxy: no warning for its HTTPS requests", () =>
      withServer({ trustProxy: true }, (base, lines) => insecureWarningScenario(base, true, lines)))
  })
})
