/**
 * The examples, started as the README starts them (a separate Node process) and driven over HTTP.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { startExample } from "./helpers/example.js"
import { CookieJar } from "./helpers/http.js"

describe("examples", () => {
  it.scopedLive("basic.ts on MemStore: /put then /get over HTTP", () =>
    Effect.gen(function*() {
      const { base } = yield* startExample("examples/basic.ts", { SESSION_STORE: "memory" }, "/health")
      const jar = new CookieJar(base)
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.strictEqual(put.setCookies.length, 1)
      assert.strictEqual((yield* jar.request("/get")).body, "Hello world!\n")
      assert.strictEqual((yield* new CookieJar(base).request("/get")).body, "\n")
    }), { timeout: 60_000 })

  it.scopedLive("login.ts: log in, whoami, log out", () =>
    Effect.gen(function*() {
      const { base } = yield* startExample("examples/login.ts", { SESSION_STORE: "memory" }, "/whoami")
      const jar = new CookieJar(base)
      assert.strictEqual((yield* jar.request("/whoami")).status, 401)
      const login = yield* jar.request("/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "alice", password: "wonderland" })
      })
      assert.strictEqual(login.status, 200)
      assert.strictEqual(JSON.parse((yield* jar.request("/whoami")).body).user, "alice")
      assert.strictEqual((yield* jar.request("/logout", { method: "POST" })).status, 204)
      assert.strictEqual((yield* jar.request("/whoami")).status, 401)
    }), { timeout: 60_000 })
})
