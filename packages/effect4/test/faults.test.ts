/**
 * Faults under load, with real processes: Redis stopped and restarted while 50 clients hit the server.
 *
 * CI runs a shortened form; `npm run test:soak` (SOAK=1) runs the full one (20 s of load, Redis down for 5 s).
 * Effect 4 line; the Effect 3 line runs the same from the root `test/faults.test.ts`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { availability, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import * as HttpSession from "../src/HttpSession.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Session from "../src/Session.js"
import { CookieJar, serve, ServerLive } from "./helpers/http.js"

const soak = process.env.SOAK === "1"
const LOAD_MS = soak ? 20_000 : 7_000
const OUTAGE_START_MS = soak ? 7_500 : 2_000
const OUTAGE_MS = soak ? 5_000 : 2_000
const CONNECTIONS = 50
const TIMEOUT_MS = 1_000
/** After Redis is back, the client reconnects within about a second (its retry strategy backs off to 1 s). */
const RECOVERY_MS = 1_500

const unhandled: Array<unknown> = []
process.on("unhandledRejection", (reason) => unhandled.push(reason))

const Visits = Session.key("visits", Schema.Number)

const app = HttpRouter.toHttpEffect(HttpRouter.addAll([
  HttpRouter.route(
    "GET",
    "/visit",
    Effect.gen(function*() {
      const visits = Option.getOrElse(yield* Session.get(Visits), () => 0) + 1
      yield* Session.set(Visits, visits)
      return HttpServerResponse.text(String(visits))
    })
  ),
  HttpRouter.route("GET", "/health", Effect.succeed(HttpServerResponse.text("ok")))
]))

interface Sample {
  readonly path: string
  readonly start: number
  readonly end: number
  readonly status: number
}

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
    `${CONNECTIONS} connections for ${LOAD_MS / 1000} s, Redis down for ${OUTAGE_MS / 1000} s`,
    () =>
      Effect.gen(function*() {
        const jar = yield* serve(HttpSession.middleware(yield* app))
        const t0 = performance.now()
        const samples: Array<Sample> = []
        let outage: { start: number; end: number } | undefined

        const client = async () => {
          const own = new CookieJar(jar.base)
          let i = 0
          while (performance.now() - t0 < LOAD_MS) {
            const path = i++ % 2 === 0 ? "/visit" : "/health"
            const start = performance.now() - t0
            let status: number
            try {
              status = (await Effect.runPromise(own.request(path))).status
            } catch {
              status = 0 // the connection failed: the server is not answering
            }
            samples.push({ path, start, end: performance.now() - t0, status })
          }
        }

        const chaos = async () => {
          await new Promise((r) => setTimeout(r, OUTAGE_START_MS))
          const start = performance.now() - t0
          await redis.stop()
          await new Promise((r) => setTimeout(r, OUTAGE_MS))
          await redis.start()
          outage = { start, end: performance.now() - t0 }
        }

        yield* Effect.promise(() => Promise.all([chaos(), ...Array.from({ length: CONNECTIONS }, client)]))
        const down = outage!

        // the server stayed up: every request got an HTTP answer, and requests that do not need the session
        // succeeded all along
        assert.deepStrictEqual(samples.filter((s) => s.status === 0).length, 0, "requests without an answer")
        const health = samples.filter((s) => s.path === "/health")
        assert.isTrue(health.every((s) => s.status === 200), "a /health request failed")
        const healthDuringOutage = health.filter((s) => s.start > down.start && s.end < down.end)
        assert.isAbove(healthDuringOutage.length, 0)

        const visits = samples.filter((s) => s.path === "/visit")
        const before = visits.filter((s) => s.end < down.start)
        const during = visits.filter((s) => s.start > down.start + 50 && s.end < down.end)
        const after = visits.filter((s) => s.start > down.end + RECOVERY_MS)
        assert.isAbove(before.length, 0)
        assert.isTrue(before.every((s) => s.status === 200), "before the outage every request succeeds")
        assert.isAbove(during.length, 0)
        for (const s of during) {
          assert.strictEqual(s.status, 503, "during the outage, requests that need the session answer 503")
          // each needs at most two store round trips (load and save), each bounded by the timeout
          assert.isBelow(s.end - s.start, 2 * TIMEOUT_MS + 500, "a 503 took longer than the bound")
        }
        assert.isAbove(after.length, 0)
        const failedAfter = after.filter((s) => s.status !== 200)
        assert.deepStrictEqual(failedAfter.length, 0, "once Redis is back, every request succeeds again")
        assert.deepStrictEqual(unhandled, [], "no unhandled rejection")
      }).pipe(
        Effect.provide(ServerLive),
        Effect.provide(Session.layer()),
        Effect.provide(
          RedisStore.layer({ url: Redacted.make(redis.url), prefix: "faults:", timeout: `${TIMEOUT_MS} millis` })
        ),
        Effect.scoped
      ),
    { timeout: LOAD_MS + 60_000 }
  )
})
