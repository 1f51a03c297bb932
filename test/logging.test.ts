/**
 * What the session logs for one request (a `Logger` collects the server's lines into an array). Effect 3 line; the
 * Effect 4 line runs the same scenarios from `packages/effect4/test/logging.test.ts`.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { serve, ServerLive } from "./helpers/http.js"
import { type LogLine, outageLogsOnce } from "./helpers/loggingScenarios.js"
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

describe("logging", () => {
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
})
