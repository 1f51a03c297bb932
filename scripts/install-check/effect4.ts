// The app the install check builds against the packed Effect 4 line: MemStore, Session and HttpSession only.
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpSession, MemStore, Session } from "effect-session"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"

const Message = Session.key("message", Schema.String)

const Routes = HttpRouter.addAll([
  HttpRouter.route("GET", "/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("OK"))),
  HttpRouter.route(
    "GET",
    "/get",
    Effect.map(Session.get(Message), (message) => HttpServerResponse.text(Option.getOrElse(message, () => "")))
  )
]).pipe(Layer.provide(HttpSession.layerRouter))

HttpRouter.serve(Routes).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT) })),
  Layer.provide(Session.layer({ lifetime: "1 hour" })),
  Layer.provide(MemStore.layer()),
  Layer.launch,
  NodeRuntime.runMain
)
