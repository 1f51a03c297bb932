// The routes the README's "Testing your app" recipe tests (Effect 3): POST /login sets the user, GET /me answers it.
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { HttpSession, Session } from "effect-session"

const User = Session.key("user", Schema.String)

export const App = HttpRouter.empty.pipe(
  HttpRouter.post("/login", Effect.as(Session.set(User, "ada"), HttpServerResponse.empty())),
  HttpRouter.get(
    "/me",
    Effect.map(Session.get(User), (user) => HttpServerResponse.text(Option.getOrElse(user, () => "nobody")))
  ),
  HttpSession.middleware
)
