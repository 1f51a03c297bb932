/**
 * Faults under load, with real processes: Redis stopped and restarted while 50 clients hit the server.
 *
 * CI runs a shortened form; `npm run test:soak` (SOAK=1) runs the full one (20 s of load, Redis down for 5 s). The
 * load and its checks are shared with the Effect 4 line (`helpers/httpScenarios.ts`).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as HttpSession from "../src/HttpSession.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Session from "../src/Session.js"
import { serve, ServerLive } from "./helpers/http.js"
import { faultLoad, redisRestartedUnderLoad } from "./helpers/httpScenarios.js"
import { availability, RedisServer, unavailableReason } from "./helpers/redis.js"

const unhandled: Array<unknown> = []
process.on("unhandledRejection", (reason) => unhandled.push(reason))

const Visits = Session.key("visits", Schema.Number)

const app = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/visit",
    Effect.gen(function*() {
      const visits = Option.getOrElse(yield* Session.get(Visits), () => 0) + 1
      yield* Session.set(Visits, visits)
      return HttpServerResponse.text(String(visits))
    })
  ),
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.text("ok"))),
  HttpSession.middleware
)

const reason = unavailableReason("binaries")
const suite = reason === undefined ? describe : describe.skip
if (reason !== undefined) {
  if (availability.required) {
    describe("faults", () => it("cannot run", () => assert.fail(`REQUIRE_REDIS=1, but ${reason}`)))
  } else console.warn(`[fault tests] skipping the Redis outage under load: ${reason}`)
}

suite("faults: Redis restarted under HTTP load", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await RedisServer.start()
  })
  afterAll(async () => {
    await redis?.dispose()
  })

  it.live(
    `${faultLoad.connections} connections for ${faultLoad.loadMs / 1000} s, Redis down for ${
      faultLoad.outageMs / 1000
    } s`,
    () =>
      Effect.gen(function*() {
        const jar = yield* serve(app)
        yield* Effect.promise(() => redisRestartedUnderLoad(jar.base, redis))
        assert.deepStrictEqual(unhandled, [], "no unhandled rejection")
      }).pipe(
        Effect.provide(ServerLive),
        Effect.provide(Session.layer()),
        Effect.provide(
          RedisStore.layer({
            url: Redacted.make(redis.url),
            prefix: "faults:",
            timeout: `${faultLoad.timeoutMs} millis`
          })
        ),
        Effect.scoped
      ),
    { timeout: faultLoad.loadMs + 60_000 }
  )
})
