/**
 * What the session logs for one request (a `Logger` collects the server's lines into an array). Effect 4 line; the
 * Effect 3 line runs the same scenarios from the root `test/logging.test.ts`.
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Logger from "effect/Logger"
import { type LogLine, outageLogsOnce } from "../../../test/helpers/loggingScenarios.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { serve, ServerLive } from "./helpers/http.js"
import { Message } from "./sessionSuite.js"

/** A logger that collects every line into `lines`, in place of the default one. */
const collect = (lines: Array<LogLine>) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      lines.push({ level: logLevel.toUpperCase(), message: parts.map(String).join(" ") })
    })
  ])

describe("logging", () => {
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
})
