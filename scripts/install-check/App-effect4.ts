// The routes the README's "Testing your app" recipe tests (Effect 4): POST /login sets the user, GET /me answers it.
import { Effect, Layer, Option, Schema } from "effect"
import { HttpSession, Session } from "effect-session"
import { HttpRouter, HttpServerResponse } from "effect/http"

const User = Session.key("user", Schema.String)

export const App = HttpRouter.addAll([
  HttpRouter.route("POST", "/login", Effect.as(Session.set(User, "ada"), HttpServerResponse.empty())),
  HttpRouter.route(
    "GET",
    "/me",
    Effect.map(Session.get(User), (user) => HttpServerResponse.text(Option.getOrElse(user, () => "nobody")))
  )
]).pipe(Layer.provide(HttpSession.layerRouter))
