/**
 * The Effect server of the HTTP benchmark, in its own process.
 *
 * - `BENCH_MODE=session` (default): the example app (`examples/basic.ts`'s `app`: `/put`, `/get` and the session
 *   middleware) with the engine `examples/store.ts` picks from `SESSION_STORE` (`memory`, `file`, `redis`).
 * - `BENCH_MODE=plain`: the same routes answering the same bodies without the session middleware (the
 *   ceiling of what the session layer costs).
 * - `BENCH_MODE=keys`: the example's `/put` and `/get` (the same handlers) plus `/set?k=<name>` (sets the session
 *   key `<name>`) and `/keys` (the session's key names, comma-separated), for the conflict workload of issue 13
 *   (`sections/concurrent.ts`). It uses nothing newer than the 0.1 API, so the section also runs it on the
 *   previous implementation.
 *
 * Both are served by `HttpServer.serve` on `@effect/platform-node`, without the request logger of the example's
 * `ServerLive` (logging every request would measure the console). Listens on 127.0.0.1:`PORT`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import { app } from "../../examples/basic.js"
import { StoreFromEnv } from "../../examples/store.js"
import * as HttpSession from "../../src/HttpSession.js"
import * as Session from "../../src/Session.js"

const port = Number(process.env.PORT)

const plain = HttpRouter.empty.pipe(
  HttpRouter.get("/put", Effect.succeed(HttpServerResponse.text("OK\n"))),
  HttpRouter.get("/get", Effect.succeed(HttpServerResponse.text("Hello world!\n"))),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok\n")))
)

const Message = Session.key("message", Schema.String)

const keyName = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => new URL(request.url, "http://localhost").searchParams.get("k") ?? ""
)

const keys = HttpRouter.empty.pipe(
  HttpRouter.get("/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("OK\n"))),
  HttpRouter.get(
    "/get",
    Effect.map(Session.get(Message), (message) => HttpServerResponse.text(Option.getOrElse(message, () => "") + "\n"))
  ),
  HttpRouter.get(
    "/set",
    Effect.flatMap(
      keyName,
      (name) => Effect.as(Session.set(Session.key(name, Schema.String), "1"), HttpServerResponse.text("OK\n"))
    )
  ),
  HttpRouter.get("/keys", Effect.map(Session.keys, (names) => HttpServerResponse.text(`${names.join(",")}\n`))),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok\n"))),
  HttpSession.middleware
)

const served = process.env.BENCH_MODE === "plain"
  ? HttpServer.serve(plain)
  : HttpServer.serve(process.env.BENCH_MODE === "keys" ? keys : app).pipe(
    Layer.provide(Session.layer()),
    Layer.provide(StoreFromEnv)
  )

Layer.launch(served.pipe(Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })))).pipe(
  NodeRuntime.runMain
)
