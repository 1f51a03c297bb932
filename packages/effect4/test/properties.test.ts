/**
 * Property tests (fast-check): hostile cookies, and hostile stored bytes read back through every engine. (Arbitrary
 * tokens and payloads through every engine are in the conformance suite.) The properties are shared with the
 * Effect 3 line (`test/helpers/propertyScenarios.ts` at the root); this file serves them and checks each record
 * through `Session`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import { hostileCookies, hostileRecords } from "../../../test/helpers/propertyScenarios.js"
import { availability, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import * as Token from "../src/core/token.js"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as RedisStore from "../src/RedisStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { tempFileStore } from "./helpers/engines.js"
import { serve } from "./helpers/http.js"
import { counting, StoreCalls } from "./sessionSuite.js"

const redisReason = unavailableReason("binaries")
let redis: RedisServer | undefined
beforeAll(async () => {
  if (redisReason === undefined) redis = await RedisServer.start()
  else if (availability.required) throw new Error(`REQUIRE_REDIS=1, but ${redisReason}`)
  else console.warn(`[properties] skipping RedisStore: ${redisReason}`)
})
afterAll(async () => {
  await redis?.dispose()
})

/** The engines the stored-bytes property runs through: each must give back exactly the bytes it was given. */
const engines: ReadonlyArray<readonly [string, () => Layer.Layer<Store.SessionStore, unknown>, boolean]> = [
  ["MemStore", () => MemStore.layer(), true],
  ["FileStore", () => tempFileStore(), true],
  [
    "RedisStore",
    () => RedisStore.layer({ url: Redacted.make(redis!.url), prefix: "properties:" }),
    redisReason === undefined
  ]
]

/** Node's default header limit is 16 KB (431 above it); raise it so 64 KB cookies reach the session code. */
const BigHeaderServer = NodeHttpServer.layer(() => createServer({ maxHeaderSize: 96 * 1024 }), {
  port: 0,
  host: "127.0.0.1",
  gracefulShutdownTimeout: "1 second"
})

const Message = Session.key("message", Schema.String)
const Count = Session.key("count", Schema.Number)

const app = HttpRouter.toHttpEffect(HttpRouter.addAll([
  HttpRouter.route(
    "GET",
    "/get",
    Effect.map(Session.get(Message), (m) => HttpServerResponse.text(Option.getOrElse(m, () => "")))
  ),
  HttpRouter.route("GET", "/put", Effect.as(Session.set(Message, "v"), HttpServerResponse.text("ok")))
]))

describe("properties", () => {
  it.live(
    "arbitrary Cookie headers: no crash, no store read for malformed tokens, no adopted client token",
    () =>
      Effect.gen(function*() {
        const jar = yield* serve(HttpSession.middleware(yield* app))
        const calls = yield* StoreCalls
        yield* Effect.promise(() => hostileCookies(jar, calls))
      }).pipe(
        Effect.provide(BigHeaderServer),
        Effect.provide(Session.layer()),
        Effect.provide(counting(MemStore.layer()))
      ),
    { timeout: 120_000 }
  )

  for (const [name, engine, available] of engines) {
    it.live.skipIf(!available)(
      `arbitrary stored bytes (${name}): a typed error or a fresh session, never a defect, never overwritten`,
      () =>
        Effect.gen(function*() {
          const context = yield* Effect.context<Store.SessionStore>()
          const manager = yield* Session.SessionManager
          const token = "T".repeat(43)
          const key = manager.options.hashTokenInStore ? Token.hash(token) : token
          const expiry = DateTime.makeUnsafe(Date.UTC(2100, 0, 1))
          const check = (bytes: Uint8Array) =>
            Effect.gen(function*() {
              yield* Store.save(key, bytes, expiry)
              const handle = manager.begin(token)
              const message = yield* Effect.exit(handle.session.get(Message))
              const count = yield* Effect.exit(handle.session.get(Count))
              for (const exit of [message, count] as Array<Exit.Exit<unknown, Session.SessionError>>) {
                if (Exit.isFailure(exit)) {
                  // typed failures only: a defect would make this throw
                  const error = Cause.findErrorOption(exit.cause)
                  assert.isTrue(
                    Option.isSome(error) && !Cause.hasDies(exit.cause),
                    `a defect, not a typed error: ${Cause.pretty(exit.cause)}`
                  )
                  assert.include(["Corrupt", "Decode"], Option.getOrThrow(error).reason)
                }
              }
              // committing an untouched session never rewrites the record
              const result = yield* handle.commit
              assert.strictEqual(result._tag, "Unchanged")
              const stored = yield* Store.find(key)
              assert.deepStrictEqual(Option.getOrThrow(stored), bytes)
            })
          yield* Effect.promise(() => hostileRecords((bytes) => Effect.runPromiseWith(context)(check(bytes))))
        }).pipe(
          Effect.provide(Session.layer()),
          Effect.provide(engine())
        ),
      { timeout: 120_000 }
    )
  }
})
