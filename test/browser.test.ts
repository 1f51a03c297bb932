/**
 * A real browser (Debian's Chromium, driven by playwright-core) against the login example.
 *
 * Skipped with a printed reason when no browser is installed, unless REQUIRE_BROWSER=1 (as in CI).
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { type Browser, chromium } from "playwright-core"
import { ApiLive } from "../examples/login.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import { baseUrl, ServerLive } from "./helpers/http.js"

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
const required = process.env.REQUIRE_BROWSER === "1"

const launch = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  ),
  (browser: Browser) => Effect.promise(() => browser.close())
)

/** Another site (127.0.0.1 is not the same site as localhost) with a form that POSTs to the app's /logout. */
const crossSitePage = (target: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: Server; url: string }>((resolve) => {
        const server = createServer((_req, res) => {
          res.setHeader("content-type", "text/html")
          res.end(
            `<form id="f" method="POST" action="${target}/logout"></form><script>document.getElementById("f").submit()</script>`
          )
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resolve({ server, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/` })
        })
      })
    ),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      )
  )

const AppLive = HttpApiBuilder.serve().pipe(
  Layer.provide(ApiLive),
  Layer.provideMerge(ServerLive),
  Layer.provide(Session.layer()),
  Layer.provide(MemStore.layer())
)

const suite = available ? describe : describe.skip
if (!available) {
  if (required) {
    describe("browser", () => {
      it("cannot run", () => {
        throw new Error(`REQUIRE_BROWSER=1, but there is no browser at ${executablePath}`)
      })
    })
  } else {
    console.warn(
      `[browser tests] skipped: no browser at ${executablePath} (apt-get install chromium, or CHROMIUM_PATH)`
    )
  }
}

suite("browser: the login example in Chromium", () => {
  it.scopedLive(
    "log in, reload, HttpOnly, SameSite=Lax against a cross-site POST, log out",
    () =>
      Effect.gen(function*() {
        const port = new URL(yield* baseUrl).port
        // the app is reached as localhost, the attacker's page as 127.0.0.1: two different sites
        const app = `http://localhost:${port}`
        const browser = yield* launch
        const context = yield* Effect.promise(() => browser.newContext())
        const page = yield* Effect.promise(() => context.newPage())
        const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

        const anonymous = yield* promise(() => page.goto(`${app}/whoami`))
        assert.strictEqual(anonymous!.status(), 401)

        const login = yield* promise(() =>
          page.evaluate(async () => {
            const res = await fetch("/login", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ username: "alice", password: "wonderland" })
            })
            return res.status
          })
        )
        assert.strictEqual(login, 200)

        const reloaded = yield* promise(() => page.reload())
        assert.strictEqual(reloaded!.status(), 200)
        assert.strictEqual(JSON.parse(yield* promise(() => page.innerText("body"))).user, "alice")

        assert.strictEqual(yield* promise(() => page.evaluate("document.cookie")), "", "HttpOnly hides the cookie")
        const [cookie] = yield* promise(() => context.cookies(app))
        assert.strictEqual(cookie!.name, "session")
        assert.isTrue(cookie!.httpOnly)
        assert.strictEqual(cookie!.sameSite, "Lax")
        const oldToken = cookie!.value

        // a cross-site form POST to /logout: the Lax cookie is not sent, so it cannot log the user out
        const attacker = yield* crossSitePage(app)
        const attackPage = yield* promise(() => context.newPage())
        const logoutResponse = promise(() =>
          attackPage.waitForResponse((response) => response.url().endsWith("/logout"))
        )
        yield* promise(() => attackPage.goto(attacker.url, { waitUntil: "commit" }))
        const attacked = yield* logoutResponse
        assert.deepStrictEqual(
          yield* promise(() => attacked.request().allHeaders()).pipe(Effect.map((h) => h.cookie)),
          undefined
        )
        yield* promise(() => page.reload())
        assert.strictEqual(JSON.parse(yield* promise(() => page.innerText("body"))).user, "alice", "still logged in")

        // the same POST from the app's own page logs out
        const logout = yield* promise(() =>
          page.evaluate(async () => (await fetch("/logout", { method: "POST" })).status)
        )
        assert.strictEqual(logout, 204)
        const after = yield* promise(() => page.reload())
        assert.strictEqual(after!.status(), 401)
        // and the old cookie no longer works, even replayed by hand
        const replay = yield* promise(() => fetch(`${app}/whoami`, { headers: { cookie: `session=${oldToken}` } }))
        assert.strictEqual(replay.status, 401)
      }).pipe(Effect.provide(AppLive)),
    { timeout: 90_000 }
  )
})
