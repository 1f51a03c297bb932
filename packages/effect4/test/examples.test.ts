/**
 * The examples, started as the README starts them (a separate Node process) and driven over HTTP, on each engine
 * `examples/store.ts` offers, under this process's Node (22). The scenarios are shared with the Effect 3 line
 * (`test/helpers/httpScenarios.ts` at the root).
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { exampleScenarios } from "../../../test/helpers/httpScenarios.js"
import { unavailableReason } from "../../../test/helpers/redis.js"
import { loginExample } from "../../../test/helpers/userSessionsScenarios.js"
import { packageDir } from "./helpers/example.js"

const redisReason = unavailableReason("binaries")
const timeout = { timeout: 60_000 }

describe("examples", () => {
  it.live(
    "basic.ts on MemStore: /put then /get over HTTP",
    () => Effect.promise(() => exampleScenarios.basicMemory(packageDir)),
    timeout
  )

  it.live(
    "basic.ts on FileStore (the default): the log is created, and a session survives a restart",
    () => Effect.promise(() => exampleScenarios.basicFile(packageDir)),
    timeout
  )

  it.live.skipIf(redisReason !== undefined)(
    "basic.ts on RedisStore: a session survives a restart",
    () => Effect.promise(() => exampleScenarios.basicRedis(packageDir)),
    timeout
  )

  it.live("login.ts: log in, whoami, log out", () => Effect.promise(() => exampleScenarios.login(packageDir)), timeout)

  it.live(
    "login.ts: GET /sessions lists the user's sessions, the current one marked; sign-out-others ends the others",
    () => Effect.promise(() => loginExample(packageDir)),
    timeout
  )
})
