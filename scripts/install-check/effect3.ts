// The app the install check builds against the packed Effect 3 line: MemStore, Session and HttpSession only.
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpSession, MemStore, Session } from "effect-session"
import { createServer } from "node:http"

const Message = Session.key("message", Schema.String)

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("OK"))),
  HttpRouter.get(
    "/get",
    Effect.map(Session.get(Message), (message) => HttpServerResponse.text(Option.getOrElse(message, () => "")))
  ),
  HttpSession.middleware
)

HttpServer.serve(app).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { port: Number(process.env.PORT) })),
  Layer.provide(Session.layer({ lifetime: "1 hour" })),
  Layer.provide(MemStore.layer()),
  Layer.launch,
  NodeRuntime.runMain
)
