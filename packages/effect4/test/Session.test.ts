/**
 * The session behaviour suite over HTTP on MemStore (Effect 4 line; the root `test/Session.test.ts` runs it on the
 * Effect 3 line), and what an `HttpApi` answers for a `SessionError` its handler leaves unhandled.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpRouter from "effect/http/HttpRouter"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { baseUrl, CookieJar, ServerLive } from "./helpers/http.js"
import { sessionSuite } from "./sessionSuite.js"

sessionSuite("MemStore", () => MemStore.layer())

const UserId = Session.key("userId", Schema.String)

class Users extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.get("put", "/put", { success: Schema.String }),
    HttpApiEndpoint.get("get", "/get", { success: Schema.String }),
    HttpApiEndpoint.get("none", "/none", { success: Schema.String })
  )
  .middleware(HttpSession.HttpApiSession)
{}
class Api extends HttpApi.make("api").add(Users) {}
const UsersLive = HttpApiBuilder.group(
  Api,
  "users",
  (h) =>
    h.handle("put", () => Effect.as(Session.set(UserId, "alice"), "ok"))
      .handle("get", () => Effect.map(Session.get(UserId), Option.getOrElse(() => "none")))
      .handle("none", () => Effect.succeed("fine"))
).pipe(Layer.provide(HttpSession.layerHttpApi))
const ApiLive = HttpApiBuilder.layer(Api).pipe(Layer.provide(UsersLive))

/** Serves the API on a fresh server over `store` (in the test's scope) and returns a jar pointed at it. */
const serveWith = <E>(store: Layer.Layer<Store.SessionStore, E>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      HttpRouter.serve(ApiLive, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(ServerLive),
        Layer.provide(Session.layer()),
        Layer.provide(store)
      )
    )
    return new CookieJar(yield* Effect.provideContext(baseUrl, context))
  })

describe("HttpApi middleware", () => {
  it.live("sessions across requests; an unhandled SessionError is an empty 503 and a handler without one needs no store", () =>
    Effect.gen(function*() {
      const jar = yield* serveWith(MemStore.layer())
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; /)
      assert.strictEqual(put.headers.get("cache-control"), "no-cache=\"Set-Cookie\"")
      const get = yield* jar.request("/get")
      assert.strictEqual(get.body, "\"alice\"")
      assert.deepStrictEqual(get.setCookies, [])
      assert.strictEqual(get.headers.get("vary"), "Cookie")

      // a real MemStore whose layer has been released: every operation fails with reason "Closed"
      const closed = yield* Effect.scoped(MemStore.make())
      const failing = yield* serveWith(Layer.succeed(Store.SessionStore, closed))
      const wellFormed = { cookie: `session=${"A".repeat(43)}` }
      const read = yield* failing.request("/get", wellFormed)
      assert.strictEqual(read.status, 503, "the load failed in the handler")
      assert.strictEqual(read.body, "", "nothing about the error reaches the client")
      assert.strictEqual(read.headers.get("vary"), "Cookie")
      const save = yield* failing.request("/put")
      assert.strictEqual(save.status, 503, "the save failed at commit")
      assert.strictEqual(save.body, "")
      assert.deepStrictEqual(save.setCookies, [])
      const none = yield* failing.request("/none", wellFormed)
      assert.strictEqual(none.status, 200)
      assert.strictEqual(none.body, "\"fine\"")
    }).pipe(Effect.scoped))
})
