/**
 * Property tests (fast-check): hostile cookies, and hostile stored bytes read back through every engine. (Arbitrary
 * tokens and payloads through every engine are in the conformance suite.) Effect 4 line; the Effect 3 line runs the same properties from the root `test/properties.test.ts`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { createServer } from "node:http"
import { availability, RedisServer, unavailableReason } from "../../../test/helpers/redis.js"
import * as Codec from "../src/core/codec.js"
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

/** A cookie header built from hostile parts. */
const cookieHeader = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.array(
    fc.tuple(
      fc.oneof(fc.constant("session"), fc.string({ maxLength: 10 })),
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 60 }),
        fc.stringMatching(/^[A-Za-z0-9_\-+/=%]{40,46}$/),
        fc.string({ maxLength: 43, minLength: 43 }).map(encodeURIComponent)
      )
    ),
    { maxLength: 6 }
  ).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("; ")),
  fc.integer({ min: 1, max: 60 }).map((kb) => `session=${"A".repeat(kb * 1024)}`)
)

/** Only what fetch can put in a header: visible ASCII and spaces/tabs, no CR/LF. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, "")

describe("properties", () => {
  it.live(
    "arbitrary Cookie headers: no crash, no store read for malformed tokens, no adopted client token",
    () =>
      Effect.gen(function*() {
        const jar = yield* serve(HttpSession.middleware(yield* app))
        const calls = yield* StoreCalls
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(cookieHeader, async (raw) => {
              const header = headerSafe(raw)
              const findsBefore = calls.find
              const reply = await Effect.runPromise(jar.request("/get", { cookie: header }))
              assert.strictEqual(reply.status, 200)
              assert.strictEqual(reply.body, "")
              const wellFormed = header.split(";").map((p) => p.trim()).find((p) => p.startsWith("session="))
                ?.slice(8)
              if (wellFormed === undefined || !/^[A-Za-z0-9_-]{43}$/.test(wellFormed)) {
                assert.strictEqual(calls.find, findsBefore, `a store read for ${JSON.stringify(header.slice(0, 80))}`)
              }
              const put = await Effect.runPromise(jar.request("/put", { cookie: header }))
              assert.strictEqual(put.status, 200)
              const issued = put.setCookies[0]!.match(/^session=([^;]+)/)![1]!
              assert.match(issued, /^[A-Za-z0-9_-]{43}$/)
              assert.notInclude(header, issued, "a client-chosen token was adopted")
            }),
            { numRuns: 300 }
          )
        )
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
          const deadline = Date.UTC(2099, 0, 1)
          const record = fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            // well-formed records whose values do not fit the keys' schemas
            fc.record({ message: fc.anything(), count: fc.anything() }).map((values) =>
              Codec.encode({ deadline, expiry: deadline, rememberMe: false, values: new Map(Object.entries(values)) })
            ),
            // truncated valid records
            fc.nat({ max: 60 }).map((n) =>
              Codec.encode({ deadline, expiry: deadline, rememberMe: false, values: new Map([["message", "hello"]]) })
                .subarray(0, n)
            ),
            // a wrong version byte
            fc.integer({ min: 2, max: 255 }).map((v) => {
              const bytes = Codec.encode({ deadline, expiry: deadline, rememberMe: false, values: new Map() })
              bytes[0] = v
              return bytes
            })
          )
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(record, async (bytes) => {
                const program = Effect.gen(function*() {
                  yield* Store.save(key, bytes, expiry)
                  const handle = manager.begin(token)
                  const message = yield* Effect.exit(handle.session.get(Message))
                  const count = yield* Effect.exit(handle.session.get(Count))
                  for (const exit of [message, count] as Array<Exit.Exit<unknown, Session.SessionError>>) {
                    if (Exit.isFailure(exit)) {
                      // typed failures only: a defect would make this throw
                      const error = Cause.findErrorOption(exit.cause)
                      assert.isTrue(Option.isSome(error), `a defect, not a typed error: ${Cause.pretty(exit.cause)}`)
                      assert.include(["Corrupt", "Decode"], Option.getOrThrow(error).reason)
                    }
                  }
                  // committing an untouched session never rewrites the record
                  const result = yield* handle.commit
                  assert.strictEqual(result._tag, "Unchanged")
                  const stored = yield* Store.find(key)
                  assert.deepStrictEqual(Option.getOrThrow(stored), bytes)
                })
                await Effect.runPromiseWith(context)(program)
              }),
              {
                numRuns: 300,
                examples: [
                  [new Uint8Array(10 * 1024 * 1024).fill(7)],
                  [Codec.encode({
                    deadline,
                    expiry: deadline,
                    rememberMe: false,
                    values: new Map([["message", "x".repeat(10 * 1024 * 1024)]])
                  })]
                ]
              }
            )
          )
        }).pipe(
          Effect.provide(Session.layer()),
          Effect.provide(engine())
        ),
      { timeout: 120_000 }
    )
  }
})
