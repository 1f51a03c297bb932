/**
 * What the session logs for one request (a `Logger` collects the server's lines into an array). Effect 4 line; the
 * Effect 3 line runs the same scenarios from the root `test/logging.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as OpenApi from "effect/http-api/OpenApi"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  insecureWarningScenario,
  type LogLine,
  outageLogsOnce,
  schemaChangeAnswers,
  secureAutoScenario
} from "../../../test/helpers/loggingScenarios.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { baseUrl, CookieJar, serve, ServerLive } from "./helpers/http.js"
import { Message } from "./sessionSuite.js"

/** A logger that collects every line into `lines`, in place of the default one. */
const collect = (lines: Array<LogLine>) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      lines.push({ level: logLevel.toUpperCase(), message: parts.map(String).join(" ") })
    })
  ])

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
const routes = HttpRouter.addAll([
  HttpRouter.route("GET", "/put", put),
  HttpRouter.route("GET", "/get", get),
  HttpRouter.route("GET", "/lenient", lenient)
])

class Carts extends HttpApiGroup.make("carts")
  .add(
    HttpApiEndpoint.get("put", "/put", { success: Schema.String }),
    HttpApiEndpoint.get("get", "/get", { success: Schema.String }),
    HttpApiEndpoint.get("lenient", "/lenient", { success: Schema.String })
  )
  .middleware(HttpSession.HttpApiSession)
{}
class CartApi extends HttpApi.make("carts").add(Carts) {}
const CartsLive = HttpApiBuilder.group(
  CartApi,
  "carts",
  (h) =>
    h.handle("put", () => Effect.as(Session.set(CartV1, "socks"), "OK"))
      .handle("get", () => Effect.map(Session.get(CartV2), String))
      .handle("lenient", () =>
        Effect.map(Session.get(CartLenient), Option.match({ onNone: () => "absent", onSome: String })))
).pipe(Layer.provide(HttpSession.layerHttpApi))
const CartApiLive = HttpApiBuilder.layer(CartApi).pipe(Layer.provide(CartsLive))

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

describe("logging", () => {
  it.live("a schema change, HttpSession.middleware: an empty 500, logged once with the key", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const jar = yield* serve(HttpSession.middleware(yield* HttpRouter.toHttpEffect(routes)))
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
      const jar = yield* serveRouter(routes.pipe(Layer.provide(HttpSession.layerRouter)))
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
      const jar = yield* serveRouter(CartApiLive)
      yield* Effect.promise(() => schemaChangeAnswers(jar, lines))
    }).pipe(Effect.scoped, Effect.provide(collect(lines)))
  })

  it.live("a store outage: one line per failed request", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      // a real MemStore whose layer has been released: every operation fails with reason "Closed"
      const closed = yield* Effect.scoped(MemStore.make())
      const app = yield* HttpRouter.toHttpEffect(HttpRouter.addAll([
        HttpRouter.route(
          "GET",
          "/read",
          Effect.as(Session.get(Message), HttpServerResponse.text("should not be sent"))
        ),
        HttpRouter.route(
          "GET",
          "/set",
          Effect.as(Session.set(Message, "x"), HttpServerResponse.text("should not be sent"))
        ),
        HttpRouter.route("GET", "/none", Effect.succeed(HttpServerResponse.text("fine"))),
        HttpRouter.route(
          "GET",
          "/handled",
          Session.get(Message).pipe(
            Effect.andThen(Session.get(Message)),
            Effect.as(HttpServerResponse.text("loaded")),
            Effect.catchTag("SessionError", (e) => Effect.succeed(HttpServerResponse.text(`handled ${e.reason}`)))
          )
        )
      ]))
      const jar = yield* serve(HttpSession.middleware(app)).pipe(
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
        const app = yield* HttpRouter.toHttpEffect(HttpRouter.add("GET", "/put", put))
        const jar = yield* serve(HttpSession.middleware(app))
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
