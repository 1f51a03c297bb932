/**
 * Load and soak: a MemStore server under HTTP load from a separate process (autocannon), where every request
 * creates a new session with a short lifetime. Memory must level off once sessions expire and are swept, and the
 * latency tail must stay close to the median.
 *
 * CI runs a shortened form; `npm run test:soak` (SOAK=1) runs 60 s with 100,000+ distinct sessions. The load and its
 * checks are shared with the Effect 3 line (`test/helpers/httpScenarios.ts` at the root).
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Schema from "effect/Schema"
import { memStoreSoak, soakLoad } from "../../../test/helpers/httpScenarios.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import { baseUrl, ServerLive } from "./helpers/http.js"

const Visit = Session.key("visit", Schema.String)
const app = HttpRouter.toHttpEffect(
  HttpRouter.add("GET", "/new", Effect.as(Session.set(Visit, "x".repeat(100)), HttpServerResponse.text("ok")))
)

describe("soak: MemStore under HTTP load with short-lived sessions", () => {
  it.live(`${soakLoad.seconds} s of load: memory levels off, p99 within 3x p50`, () =>
    Effect.gen(function*() {
      const store = yield* MemStore.MemStore
      yield* HttpServer.serveEffect()(HttpSession.middleware(yield* app))
      const url = (yield* baseUrl) + "/new"
      yield* Effect.promise(() => memStoreSoak(url, () => Effect.runPromise(store.size)))
    }).pipe(
      Effect.provide(ServerLive),
      Effect.provide(Session.layer({ lifetime: soakLoad.lifetime })),
      Effect.provide(MemStore.layer({ cleanupInterval: "1 second" }))
    ), { timeout: (soakLoad.seconds + 60) * 1000 })
})
