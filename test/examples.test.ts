/**
 * The examples, started as the README starts them (a separate Node process) and driven over HTTP, on each engine
 * `examples/store.ts` offers. The scenarios are shared with the Effect 4 line (`helpers/httpScenarios.ts`).
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { exampleScenarios } from "./helpers/httpScenarios.js"
import { unavailableReason } from "./helpers/redis.js"
import { loginExample } from "./helpers/userSessionsScenarios.js"

const redisReason = unavailableReason("binaries")
const timeout = { timeout: 60_000 }

describe("examples", () => {
  it.live(
    "basic.ts on MemStore: /put then /get over HTTP",
    () => Effect.promise(() => exampleScenarios.basicMemory()),
    timeout
  )

  it.live(
    "basic.ts on FileStore (the default): the log is created, and a session survives a restart",
    () => Effect.promise(() => exampleScenarios.basicFile()),
    timeout
  )

  it.live.skipIf(redisReason !== undefined)(
    "basic.ts on RedisStore: a session survives a restart",
    () => Effect.promise(() => exampleScenarios.basicRedis()),
    timeout
  )

  it.live("login.ts: log in, whoami, log out", () => Effect.promise(() => exampleScenarios.login()), timeout)

  it.live(
    "login.ts: GET /sessions lists the user's sessions, the current one marked; sign-out-others ends the others",
    () => Effect.promise(() => loginExample()),
    timeout
  )
})
