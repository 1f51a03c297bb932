/**
 * The Effect 4 server of the HTTP benchmark (the twin of `bench/servers/effect.ts`), in its own Node 22 process.
 *
 * It lives in `packages/effect4/bench/` so that Node resolves `effect` and `@effect/platform-node` from the
 * workspace's `node_modules` (Effect 4), as it would for a user of this line; the same file under the root's
 * `bench/` would get the root's Effect 3.
 *
 * - `BENCH_MODE=session` (default): the example's routes (`examples/basic.ts`: `/put` stores a message in the
 *   session, `/get` reads it back, through `HttpSession.layerRouter`) and `/health`, with `Session.layer()`
 *   defaults on the engine `SESSION_STORE` names (`memory`, `file` at `SESSION_FILE` with `SESSION_SYNC`, `redis`
 *   at `REDIS_URL` under `SESSION_PREFIX`), as `examples/store.ts` configures them. The engines are imported on
 *   demand, so that a server runs as soon as its engine exists on the branch.
 * - `BENCH_MODE=plain`: the same routes answering the same bodies without sessions (the ceiling of what the session
 *   layer costs).
 * - `BENCH_MODE=keys`: the session routes plus `/set?k=<name>` (sets the session key `<name>`) and `/keys` (the
 *   session's key names, comma-separated), for the conflict workload of issue 13 (`bench/sections/concurrent.ts`);
 *   nothing newer than the line's first API, so the section also runs it on the previous implementation.
 *
 * Both are served by `HttpRouter.serve` on `@effect/platform-node`'s `NodeHttpServer`, without the request logger
 * that `HttpRouter.serve` adds by default (logging every request would measure the console; the Effect 3 server
 * has none either). Listens on 127.0.0.1:`PORT`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import * as HttpSession from "../../src/HttpSession.js"
import * as Session from "../../src/Session.js"
import type * as Store from "../../src/Store.js"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const Message = Session.key("message", Schema.String)

const SessionRoutes = HttpRouter.addAll([
  HttpRouter.route("GET", "/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("OK\n"))),
  HttpRouter.route(
    "GET",
    "/get",
    Effect.map(Session.get(Message), (message) => HttpServerResponse.text(Option.getOrElse(message, () => "") + "\n"))
  )
]).pipe(Layer.provide(HttpSession.layerRouter))

const keyName = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => new URL(request.url, "http://localhost").searchParams.get("k") ?? ""
)

const KeyRoutes = HttpRouter.addAll([
  HttpRouter.route(
    "GET",
    "/set",
    Effect.flatMap(
      keyName,
      (name) => Effect.as(Session.set(Session.key(name, Schema.String), "1"), HttpServerResponse.text("OK\n"))
    )
  ),
  HttpRouter.route("GET", "/keys", Effect.map(Session.keys, (names) => HttpServerResponse.text(`${names.join(",")}\n`)))
]).pipe(Layer.provide(HttpSession.layerRouter))

const PlainRoutes = HttpRouter.addAll([
  HttpRouter.route("GET", "/put", Effect.succeed(HttpServerResponse.text("OK\n"))),
  HttpRouter.route("GET", "/get", Effect.succeed(HttpServerResponse.text("Hello world!\n")))
])

const HealthRoute = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok\n"))

const storeLayer = async (): Promise<Layer.Layer<Store.SessionStore, unknown>> => {
  switch (process.env.SESSION_STORE) {
    case "memory":
      return (await import("../../src/MemStore.js")).layer()
    case "file": {
      const FileStore = await import("../../src/FileStore.js")
      const sync = env("SESSION_SYNC") as "always" | "everysec" | "never"
      return FileStore.layer({ path: env("SESSION_FILE"), sync }).pipe(Layer.provide(NodeServices.layer))
    }
    case "redis": {
      const RedisStore = await import("../../src/RedisStore.js")
      return RedisStore.layer({ url: env("REDIS_URL"), prefix: env("SESSION_PREFIX") })
    }
    default:
      throw new Error(`unknown SESSION_STORE ${process.env.SESSION_STORE}`)
  }
}

const options = { disableLogger: true, disableListenLog: true } as const

const served = process.env.BENCH_MODE === "plain"
  ? HttpRouter.serve(Layer.mergeAll(PlainRoutes, HealthRoute), options)
  : HttpRouter.serve(
    process.env.BENCH_MODE === "keys"
      ? Layer.mergeAll(SessionRoutes, KeyRoutes, HealthRoute)
      : Layer.mergeAll(SessionRoutes, HealthRoute),
    options
  ).pipe(
    Layer.provide(Session.layer()),
    Layer.provide(await storeLayer())
  )

Layer.launch(
  served.pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: Number(env("PORT")), host: "127.0.0.1" })))
)
  .pipe(NodeRuntime.runMain)
