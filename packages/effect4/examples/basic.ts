/**
 * The seeds' example, the Effect way: `/put` stores a message in the session, `/get` reads it back.
 *
 *   npm start                       # port 4000 (or PORT); engine from SESSION_STORE (default: file)
 *   curl -i -c jar -b jar http://localhost:4000/put
 *   curl -i -c jar -b jar http://localhost:4000/get     # Hello world!
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import { StoreFromEnv } from "./store.js"

const Message = Session.key("message", Schema.String)

/** The routes that use the session: `HttpSession.layerRouter` provides it to them. */
export const SessionRoutes = HttpRouter.addAll([
  HttpRouter.route("GET", "/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("OK\n"))),
  HttpRouter.route(
    "GET",
    "/get",
    Effect.map(Session.get(Message), (message) => HttpServerResponse.text(Option.getOrElse(message, () => "") + "\n"))
  )
]).pipe(Layer.provide(HttpSession.layerRouter))

const HealthRoute = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok\n"))

export const ServerLive = Layer.unwrap(Effect.gen(function*() {
  const port = yield* Config.Port("PORT").pipe(Config.withDefault(4000))
  return HttpRouter.serve(Layer.mergeAll(SessionRoutes, HealthRoute)).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port }))
  )
})).pipe(
  Layer.provide(Session.layer()),
  Layer.provide(StoreFromEnv)
)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Layer.launch(ServerLive).pipe(NodeRuntime.runMain)
}
