/**
 * The session suite on RedisStore, against a redis-server this file starts (or `REDIS_URL`).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { availability, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import * as RedisStore from "../src/RedisStore.js"
import { sessionSuite } from "./sessionSuite.js"

const reason = unavailableReason("server")
const runId = randomBytes(4).toString("hex")
let prefixCounter = 0

if (reason === undefined) {
  let server: RedisServer | undefined
  const url = () => availability.url ?? server!.url
  beforeAll(async () => {
    if (availability.url === undefined) server = await RedisServer.start()
  })
  afterAll(async () => {
    await server?.dispose()
  })
  sessionSuite(
    "RedisStore (standalone)",
    () =>
      RedisStore.layer({ url: Redacted.make(url()), prefix: `effect-session-test:${runId}:http${prefixCounter++}:` }),
    { ownClock: true }
  )
} else if (availability.required) {
  describe("RedisStore (standalone): sessions over HTTP", () =>
    it("cannot run", () => assert.fail(`REQUIRE_REDIS=1, but ${reason}`)))
} else {
  console.warn(`[session suite] skipping RedisStore: ${reason}`)
  describe.skip("RedisStore (standalone): sessions over HTTP", () => it("needs Redis", () => {}))
}
