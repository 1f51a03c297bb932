/**
 * Runs the README's "engine from an environment variable" snippet (`engineFromEnv.ts`, which `tsc` also checks):
 * with SESSION_STORE=redis the sessions go to Redis and no log file is created; otherwise to the FileStore log.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { vi } from "vitest"
import { rawCommand, RedisServer, unavailableReason } from "../../../../test/helpers/redis.js"
import * as MemStore from "../../src/MemStore.js"
import * as Session from "../../src/Session.js"
import * as Store from "../../src/Store.js"

const user = Session.key("user", Schema.String)

/** Loads the snippet afresh under `env`, then saves a session through its layer and reads it back. */
const roundTrip = async (env: Record<string, string | undefined>) => {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete process.env[name]
  try {
    vi.resetModules()
    const { SessionLive } = await import("./engineFromEnv.js")
    return await Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      const first = manager.begin(undefined)
      yield* first.session.set(user, "alice")
      const result = yield* first.commit
      assert.strictEqual(result._tag, "SetCookie")
      const token = result._tag === "SetCookie" ? result.token : ""
      const second = manager.begin(token)
      return yield* second.session.get(user)
    }).pipe(Effect.provide(SessionLive), Effect.scoped, Effect.runPromise)
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  }
}

describe("engine chosen from an environment variable (README)", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engine-from-env-"))
  let server: RedisServer | undefined
  const noRedis = unavailableReason("binaries")

  beforeAll(async () => {
    if (noRedis === undefined) server = await RedisServer.start()
  })
  afterAll(async () => {
    await server?.dispose()
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("without SESSION_STORE=redis, sessions go to the FileStore log", async () => {
    const file = Path.join(dir, "file.log")
    const value = await roundTrip({ SESSION_STORE: undefined, SESSION_FILE: file })
    assert.deepStrictEqual(value, Option.some("alice"))
    assert.isAbove(Fs.statSync(file).size, 0)
  })

  it.skipIf(noRedis !== undefined)("with SESSION_STORE=redis, sessions go to Redis and no log is written", async () => {
    const file = Path.join(dir, "redis.log")
    const value = await roundTrip({ SESSION_STORE: "redis", REDIS_URL: server!.url, SESSION_FILE: file })
    assert.deepStrictEqual(value, Option.some("alice"))
    assert.isFalse(Fs.existsSync(file))
    assert.strictEqual(await rawCommand(server!.port, "DBSIZE"), ":1\r\n")
  })

  it("MemStore.layerStore provides the generic SessionStore: what it saves is found", async () => {
    const found = await Effect.gen(function*() {
      yield* Store.save("token", new Uint8Array([7]), DateTime.makeUnsafe(Date.now() + 60_000))
      return yield* Store.find("token")
    }).pipe(Effect.provide(MemStore.layerStore({ maxSessions: 10 })), Effect.runPromise)
    assert.deepStrictEqual(Option.map(found, Array.from), Option.some([7]))
  })
})
