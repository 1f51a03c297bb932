/**
 * Load and soak: a MemStore server under HTTP load from a separate process (autocannon), where every request
 * creates a new session with a short lifetime. Memory must level off once sessions expire and are swept, and the
 * latency tail must stay close to the median.
 *
 * CI runs a shortened form; `npm run test:soak` (SOAK=1) runs 60 s with 100,000+ distinct sessions.
 * Effect 4 line; the Effect 3 line runs the same from the root `test/soak.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import { baseUrl, ServerLive } from "./helpers/http.js"

const soak = process.env.SOAK === "1"
const DURATION_S = soak ? 60 : 12
const LIFETIME = "3 seconds"

const Visit = Session.key("visit", Schema.String)
const app = HttpRouter.toHttpEffect(
  HttpRouter.add("GET", "/new", Effect.as(Session.set(Visit, "x".repeat(100)), HttpServerResponse.text("ok")))
)

const serveApp = Effect.flatMap(app, (app) => HttpServer.serveEffect()(HttpSession.middleware(app)))

interface AutocannonResult {
  readonly requests: { readonly total: number }
  readonly latency: { readonly p50: number; readonly p99: number; readonly mean: number }
  readonly non2xx: number
  readonly errors: number
}

/** autocannon in its own process, so the load generator does not share the server's event loop. */
const autocannon = (url: string, seconds: number) =>
  Effect.promise(() =>
    new Promise<AutocannonResult>((resolve, reject) => {
      const bin = createRequire(import.meta.url).resolve("autocannon/autocannon.js")
      const child = spawn(process.execPath, [bin, "-c", "50", "-d", String(seconds), "-j", url], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      child.stdout.on("data", (chunk) => (out += chunk))
      child.on("error", reject)
      child.on(
        "exit",
        (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`)))
      )
    })
  )

describe("soak: MemStore under HTTP load with short-lived sessions", () => {
  it.live(`${DURATION_S} s of load: memory levels off, p99 within 3x p50`, () =>
    Effect.gen(function*() {
      const store = yield* MemStore.MemStore
      yield* serveApp
      const url = (yield* baseUrl) + "/new"
      // warm up (JIT, connection pools) before measuring
      yield* autocannon(url, 2)
      const rss: Array<number> = []
      const sizes: Array<number> = []
      const sampler = setInterval(() => {
        rss.push(process.memoryUsage().rss)
        Effect.runPromise(store.size).then((n) => sizes.push(n))
      }, 500)
      const result = yield* autocannon(url, DURATION_S).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))

      assert.strictEqual(result.errors, 0)
      assert.strictEqual(result.non2xx, 0)
      if (soak) assert.isAtLeast(result.requests.total, 100_000, "at least 100,000 distinct sessions")
      // sessions live 3 s and the sweep runs every second: the store holds a few seconds' worth, not all of them
      const maxLive = Math.max(...sizes)
      assert.isBelow(maxLive, result.requests.total / (DURATION_S / 6), `the store kept ${maxLive} sessions`)
      // memory levels off: the last third of the run uses no more than the middle third, with slack for the GC
      const third = Math.floor(rss.length / 3)
      const middle = Math.max(...rss.slice(third, 2 * third))
      const last = Math.max(...rss.slice(2 * third))
      assert.isBelow(last, middle * 1.25 + 16 * 1024 * 1024, `RSS grew from ${middle} to ${last}`)
      // the tail stays close to the median (autocannon reports whole milliseconds, hence the 1 ms floor)
      // (checked in the full soak only: on a 2-core machine shared with the load generator, the shortened CI run
      // measures scheduling noise as much as the library; see the note in README/issue 7)
      if (soak) {
        assert.isAtMost(result.latency.p99, 3 * Math.max(result.latency.p50, 1), JSON.stringify(result.latency))
      }
      console.log(
        `soak: ${result.requests.total} sessions in ${DURATION_S} s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
          `max live ${maxLive}, RSS ${(middle / 2 ** 20).toFixed(0)} -> ${(last / 2 ** 20).toFixed(0)} MiB`
      )
    }).pipe(
      Effect.provide(ServerLive),
      Effect.provide(Session.layer({ lifetime: LIFETIME })),
      Effect.provide(MemStore.layer({ cleanupInterval: "1 second" }))
    ), { timeout: (DURATION_S + 60) * 1000 })
})
