/**
 * The examples, started as the README starts them (a separate Node process) and driven over HTTP, on each engine
 * `examples/store.ts` offers. Effect 4 line: the processes run on this process's Node (22); the Effect 3 line runs
 * the same checks from the root `test/examples.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import { startExample } from "./helpers/example.js"
import { CookieJar } from "./helpers/http.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-session-example-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** `/put` in one run of basic.ts, then `/get` with the same cookie in a second run: the session outlived the process. */
const survivesRestart = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const token = yield* Effect.scoped(Effect.gen(function*() {
      const { base } = yield* startExample("examples/basic.ts", env, "/health")
      const jar = new CookieJar(base)
      assert.strictEqual((yield* jar.request("/put")).status, 200)
      return jar.get("session")!
    }))
    const { base } = yield* startExample("examples/basic.ts", env, "/health")
    assert.strictEqual(
      (yield* new CookieJar(base).request("/get", { cookie: `session=${token}` })).body,
      "Hello world!\n"
    )
  })

const redisReason = unavailableReason("binaries")

describe("examples", () => {
  it.live("basic.ts on MemStore: /put then /get over HTTP", () =>
    Effect.gen(function*() {
      const { base } = yield* startExample("examples/basic.ts", { SESSION_STORE: "memory" }, "/health")
      const jar = new CookieJar(base)
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.strictEqual(put.setCookies.length, 1)
      assert.strictEqual((yield* jar.request("/get")).body, "Hello world!\n")
      assert.strictEqual((yield* new CookieJar(base).request("/get")).body, "\n")
    }), { timeout: 60_000 })

  it.live(
    "basic.ts on FileStore (the default): the log is created, and a session survives a restart",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const file = join(dir, "nested", "sessions.log")
        yield* survivesRestart({ SESSION_FILE: file, SESSION_SYNC: "always" })
        assert.isTrue(existsSync(file), "the example creates the log's folder and the log")
        assert.isAbove(statSync(file).size, 16, "the log holds a record after its header")
      }),
    { timeout: 60_000 }
  )

  it.live.skipIf(redisReason !== undefined)(
    "basic.ts on RedisStore: a session survives a restart",
    () =>
      Effect.gen(function*() {
        const redis = yield* Effect.acquireRelease(
          Effect.promise(() => RedisServer.start()),
          (server) => Effect.promise(() => server.dispose())
        )
        yield* survivesRestart({ SESSION_STORE: "redis", REDIS_URL: redis.url, SESSION_PREFIX: "example:" })
      }),
    { timeout: 60_000 }
  )

  it.live("login.ts: log in, whoami, log out", () =>
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
