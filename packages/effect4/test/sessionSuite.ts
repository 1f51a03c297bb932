/**
 * The session behaviour suite (SCS's session tests, re-done through a real HTTP server), run against every engine.
 * Effect 4 line; the Effect 3 line runs the same checks from the root `test/sessionSuite.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { createHash } from "node:crypto"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"
import { type CookieJar, serve, ServerLive } from "./helpers/http.js"

export const Message = Session.key("message", Schema.String)
const A = Session.key("a", Schema.Number)
const B = Session.key("b", Schema.Boolean)
const C = Session.key("c", Schema.Struct({ nested: Schema.Array(Schema.String) }))
// Effect 4's NumberFromString decodes "not-a-number" to NaN; FiniteFromString rejects it, as 3's NumberFromString does
const Strict = Session.key("message", Schema.FiniteFromString)

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

const text = (body: string) => HttpServerResponse.text(body)
const query = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => new URL(r.url, "http://x").searchParams.get(name))
const get = <E, R>(path: HttpRouter.PathInput, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  HttpRouter.route("GET", path, handler)

/** The seeds' `/put` and `/get`, plus a route per session operation, as router routes (they require `Session`). */
export const testRoutes = HttpRouter.addAll([
  get(
    "/put",
    Effect.gen(function*() {
      yield* Session.set(Message, (yield* query("value")) ?? "Hello world!")
      return text("OK")
    })
  ),
  get("/get", Effect.map(Session.get(Message), (m) => text(Option.getOrElse(m, () => "")))),
  get("/none", Effect.succeed(text("no session here"))),
  get("/destroy", Effect.as(Session.destroy, text("destroyed"))),
  get("/renew", Effect.as(Session.renew, text("renewed"))),
  get(
    "/remember",
    Effect.gen(function*() {
      yield* Session.rememberMe((yield* query("on")) === "1")
      return text("ok")
    })
  ),
  get(
    "/put-many",
    Effect.gen(function*() {
      yield* Session.set(C, { nested: ["x", "y"] })
      yield* Session.set(A, 1)
      yield* Session.set(B, true)
      return text("ok")
    })
  ),
  get("/keys", Effect.map(Session.keys, (keys) => text(keys.join(",")))),
  get("/pop", Effect.map(Session.pop(Message), (m) => text(Option.getOrElse(m, () => "(none)")))),
  get("/clear", Effect.as(Session.clear, text("cleared"))),
  get(
    "/status-flow",
    Effect.gen(function*() {
      const seen = [yield* Session.status]
      yield* Session.get(Message)
      seen.push(yield* Session.status)
      yield* Session.set(Message, "x")
      seen.push(yield* Session.status)
      yield* Session.destroy
      seen.push(yield* Session.status)
      yield* Session.set(Message, "after destroy")
      seen.push(yield* Session.status)
      return text(seen.join(","))
    })
  ),
  get("/token", Effect.map(Session.token, (t) => text(Option.getOrElse(t, () => "none")))),
  get(
    "/fail-after-set",
    Effect.gen(function*() {
      yield* Session.set(Message, "set before failing")
      return yield* new Boom()
    })
  ),
  get(
    "/expire-now",
    Effect.gen(function*() {
      yield* Session.setDeadline(yield* DateTime.now)
      return text("ok")
    })
  ),
  get("/strict", Effect.map(Session.get(Strict), (v) => text(String(Option.getOrElse(v, () => -1))))),
  get("/deadline", Effect.map(Session.deadline, (d) => text(String(DateTime.toEpochMillis(d)))))
])

/**
 * `testRoutes` as one app (an `Effect` that answers the current request, requiring `Session`), for
 * `HttpSession.middleware`; an unhandled `SessionError` is answered with its reason, as a 500.
 */
export const testApp = Effect.map(
  HttpRouter.toHttpEffect(testRoutes),
  (app) =>
    Effect.catchTag(
      app,
      "SessionError",
      (e) => Effect.succeed(HttpServerResponse.text(`SessionError:${e.reason}:${e.key ?? ""}`, { status: 500 }))
    )
)

/** Counts the store operations that reach the engine (a wrapper, not a stand-in: the engine does the work). */
export class StoreCalls
  extends Context.Service<StoreCalls, { find: number; save: number; delete: number }>()("test/StoreCalls")
{}

export const counting = <E>(engine: Layer.Layer<Store.SessionStore, E>) =>
  Layer.effectContext(Effect.gen(function*() {
    const inner = yield* Store.SessionStore
    const calls = { find: 0, save: 0, delete: 0 }
    const store = Store.SessionStore.of({
      ...inner,
      find: (t) => Effect.suspend(() => (calls.find++, inner.find(t))),
      save: (t, d, e) => Effect.suspend(() => (calls.save++, inner.save(t, d, e))),
      delete: (t) => Effect.suspend(() => (calls.delete++, inner.delete(t)))
    })
    return Context.make(StoreCalls, calls).pipe(Context.add(Store.SessionStore, store))
  })).pipe(Layer.provide(engine))

const TOKEN = /^[A-Za-z0-9_-]{43}$/
const sha = (token: string) => createHash("sha256").update(token).digest("base64url")

export const sessionSuite = <E>(
  name: string,
  makeStore: () => Layer.Layer<Store.SessionStore, E>
) => {
  const run = <A, E2>(
    f: (jar: CookieJar) => Effect.Effect<A, E2, Store.SessionStore | StoreCalls>,
    options?: Session.SessionOptions
  ) =>
    Effect.gen(function*() {
      const jar = yield* serve(HttpSession.middleware(yield* testApp))
      return yield* f(jar)
    }).pipe(
      Effect.provide(ServerLive),
      Effect.provide(Session.layer({ cookie: { secure: true }, ...options })),
      Effect.provide(counting(makeStore())),
      Effect.scoped
    )
  describe(`${name}: sessions over HTTP`, () => {
    it.effect("the first /put sets the cookie, /get reads it with no Set-Cookie, another /put keeps the token", () =>
      run((jar) =>
        Effect.gen(function*() {
          const put = yield* jar.request("/put")
          assert.strictEqual(put.status, 200)
          assert.strictEqual(put.setCookies.length, 1)
          const cookie = put.setCookies[0]!
          assert.match(
            cookie,
            /^session=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; Expires=[^;]+ GMT; HttpOnly; Secure; SameSite=Lax$/
          )
          assert.strictEqual(put.headers.get("vary"), "Cookie")
          assert.strictEqual(put.headers.get("cache-control"), "no-cache=\"Set-Cookie\"")
          const token = jar.get("session")!
          const get = yield* jar.request("/get")
          assert.strictEqual(get.body, "Hello world!")
          assert.deepStrictEqual(get.setCookies, [])
          assert.strictEqual(get.headers.get("vary"), "Cookie")
          assert.isNull(get.headers.get("cache-control"))
          yield* jar.request("/put?value=again")
          assert.strictEqual(jar.get("session"), token)
          assert.strictEqual((yield* jar.request("/get")).body, "again")
        })
      ))

    it.effect("a request that never touches the session does no store I/O and sets no cookie", () =>
      run((jar) =>
        Effect.gen(function*() {
          const calls = yield* StoreCalls
          yield* jar.request("/put")
          const before = { ...calls }
          const none = yield* jar.request("/none")
          assert.strictEqual(none.body, "no session here")
          assert.deepStrictEqual(none.setCookies, [])
          assert.strictEqual(none.headers.get("vary"), "Cookie")
          assert.deepStrictEqual({ ...calls }, before)
        })
      ))

    it.effect("lifetime: the session ends at its absolute deadline, even when used (TestClock)", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          yield* TestClock.adjust("59 minutes")
          assert.strictEqual((yield* jar.request("/get")).body, "Hello world!")
          yield* TestClock.adjust("1 minute")
          assert.strictEqual((yield* jar.request("/get")).body, "")
        }), { lifetime: "1 hour" }))

    it.effect("idle timeout: each request extends the session; it ends after that long without one", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          for (let i = 0; i < 4; i++) {
            yield* TestClock.adjust("19 minutes")
            // /none does not touch the session, but a request carrying its cookie still counts as activity
            const reply = yield* jar.request(i % 2 === 0 ? "/none" : "/get")
            assert.strictEqual(reply.setCookies.length, 1, "the extension refreshes the cookie")
            assert.match(reply.setCookies[0]!, /Max-Age=1200;/)
          }
          assert.strictEqual((yield* jar.request("/get")).body, "Hello world!")
          yield* TestClock.adjust("20 minutes")
          assert.strictEqual((yield* jar.request("/get")).body, "")
        }), { lifetime: "1 day", idleTimeout: "20 minutes" }))

    it.effect("the idle timeout never extends a session past its absolute deadline", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          for (let i = 0; i < 2; i++) {
            yield* TestClock.adjust("19 minutes")
            yield* jar.request("/get")
          }
          yield* TestClock.adjust("19 minutes")
          const reply = yield* jar.request("/get")
          assert.strictEqual(reply.body, "Hello world!")
          assert.match(reply.setCookies[0]!, /Max-Age=180;/, "3 minutes left before the absolute deadline")
          yield* TestClock.adjust("3 minutes")
          assert.strictEqual((yield* jar.request("/get")).body, "")
        }), { lifetime: "1 hour", idleTimeout: "20 minutes" }))

    it.effect("destroy: the deletion cookie has the exact attributes, and the data is gone", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          const old = jar.get("session")!
          const destroyed = yield* jar.request("/destroy")
          assert.deepStrictEqual(destroyed.setCookies, [
            "session=; Max-Age=0; Domain=example.test; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict"
          ])
          assert.strictEqual(destroyed.headers.get("cache-control"), "no-cache=\"Set-Cookie\"")
          assert.strictEqual((yield* jar.request("/get", { cookie: `session=${old}` })).body, "")
          assert.strictEqual((yield* Store.find(sha(old))).pipe(Option.isNone), true)
        }), { cookie: { domain: "example.test", path: "/app", sameSite: "strict" } }))

    it.effect("destroy on a request without a session cookie sends no deletion cookie (no cross-site logout)", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          // what a cross-site form POST looks like: SameSite=Lax keeps the cookie out of the request
          const crossSite = yield* jar.request("/destroy", { cookie: "" })
          assert.deepStrictEqual(crossSite.setCookies, [])
          assert.strictEqual((yield* jar.request("/get")).body, "Hello world!")
          // a malformed cookie is still the browser's session cookie: destroy expires it
          const malformed = yield* jar.request("/destroy", { cookie: "session=garbage" })
          assert.match(malformed.setCookies[0]!, /^session=; Max-Age=0;/)
        })
      ))

    it.effect("a set after destroy in the same request starts a fresh session with a new token", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          const old = jar.get("session")!
          const flow = yield* jar.request("/status-flow")
          assert.strictEqual(flow.body, "unmodified,unmodified,modified,destroyed,modified")
          const fresh = jar.get("session")!
          assert.notStrictEqual(fresh, old)
          assert.match(fresh, TOKEN)
          assert.strictEqual((yield* jar.request("/get")).body, "after destroy")
          assert.strictEqual((yield* jar.request("/get", { cookie: `session=${old}` })).body, "")
        })
      ))

    it.effect("renew: a new token, the data kept, and the old token finds nothing", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put?value=before-login")
          const old = jar.get("session")!
          const renewed = yield* jar.request("/renew")
          assert.strictEqual(renewed.setCookies.length, 1)
          const fresh = jar.get("session")!
          assert.notStrictEqual(fresh, old)
          assert.strictEqual((yield* jar.request("/get")).body, "before-login")
          assert.strictEqual((yield* jar.request("/get", { cookie: `session=${old}` })).body, "")
          assert.isTrue(Option.isNone(yield* Store.find(sha(old))))
        })
      ))

    it.effect("renew resets the absolute deadline", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          yield* TestClock.adjust("50 minutes")
          yield* jar.request("/renew")
          yield* TestClock.adjust("50 minutes")
          assert.strictEqual((yield* jar.request("/get")).body, "Hello world!")
        }), { lifetime: "1 hour" }))

    it.effect("persist: false gives a browser-session cookie until rememberMe(true)", () =>
      run((jar) =>
        Effect.gen(function*() {
          const put = yield* jar.request("/put")
          assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
          const remembered = yield* jar.request("/remember?on=1")
          assert.match(remembered.setCookies[0]!, /; Max-Age=86400; Path=\/; Expires=/)
          // and it stays persistent on later writes
          const again = yield* jar.request("/put?value=x")
          assert.match(again.setCookies[0]!, /; Max-Age=\d+; /)
          const forgotten = yield* jar.request("/remember?on=0")
          assert.notMatch(forgotten.setCookies[0]!, /Max-Age|Expires/)
        }), { cookie: { persist: false } }))

    it.effect("keys are sorted; pop returns and removes; clear empties the session", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          yield* jar.request("/put-many")
          assert.strictEqual((yield* jar.request("/keys")).body, "a,b,c,message")
          assert.strictEqual((yield* jar.request("/pop")).body, "Hello world!")
          assert.strictEqual((yield* jar.request("/pop")).body, "(none)")
          assert.strictEqual((yield* jar.request("/keys")).body, "a,b,c")
          const cleared = yield* jar.request("/clear")
          assert.strictEqual(cleared.setCookies.length, 1)
          assert.strictEqual((yield* jar.request("/keys")).body, "")
        })
      ))

    it.effect("the session is committed even when the handler fails", () =>
      run((jar) =>
        Effect.gen(function*() {
          const failed = yield* jar.request("/fail-after-set")
          assert.strictEqual(failed.status, 500)
          assert.strictEqual(failed.setCookies.length, 1)
          assert.strictEqual(failed.headers.get("vary"), "Cookie")
          assert.strictEqual((yield* jar.request("/get")).body, "set before failing")
        })
      ))

    it.effect("a deadline moved to now ends the session with a deletion cookie", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put")
          const old = jar.get("session")!
          const reply = yield* jar.request("/expire-now")
          assert.match(reply.setCookies[0]!, /^session=; Max-Age=0;/)
          assert.isTrue(Option.isNone(yield* Store.find(sha(old))))
        })
      ))

    it.effect("a stored value that fails its key's schema is a typed error naming the key", () =>
      run((jar) =>
        Effect.gen(function*() {
          yield* jar.request("/put?value=not-a-number")
          const reply = yield* jar.request("/strict")
          assert.strictEqual(reply.status, 500)
          assert.strictEqual(reply.body, "SessionError:Decode:message")
          yield* jar.request("/put?value=42")
          assert.strictEqual((yield* jar.request("/strict")).body, "42")
        })
      ))

    it.effect("token is none until committed, then the cookie's token", () =>
      run((jar) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* jar.request("/token")).body, "none")
          yield* jar.request("/put")
          assert.strictEqual((yield* jar.request("/token")).body, jar.get("session"))
        })
      ))

    describe("security", () => {
      it.effect("an unknown, well-formed token is never adopted (no fixation)", () =>
        run((jar) =>
          Effect.gen(function*() {
            const planted = "A".repeat(43)
            const reply = yield* jar.request("/put", { cookie: `session=${planted}` })
            const token = reply.setCookies[0]!.match(/^session=([^;]+)/)![1]!
            assert.notStrictEqual(token, planted)
            assert.match(token, TOKEN)
            assert.isTrue(Option.isNone(yield* Store.find(sha(planted))))
            assert.isTrue(Option.isNone(yield* Store.find(planted)))
          })
        ))

      it.effect("malformed cookies never reach the store and never error", () =>
        run((jar) =>
          Effect.gen(function*() {
            const calls = yield* StoreCalls
            const malformed = [
              "A".repeat(42),
              "A".repeat(44),
              "A".repeat(42) + "=",
              "A".repeat(42) + "+",
              "A".repeat(42) + "/",
              "%41".repeat(43),
              "x".repeat(10 * 1024),
              "",
              "\"" + "A".repeat(41) + "\""
            ]
            for (const value of malformed) {
              const reply = yield* jar.request("/get", { cookie: `session=${value}` })
              assert.strictEqual(reply.status, 200)
              assert.strictEqual(reply.body, "")
            }
            assert.strictEqual(calls.find, 0)
          })
        ))

      it.effect("the raw store holds the token's hash, never the cookie token", () =>
        run((jar) =>
          Effect.gen(function*() {
            yield* jar.request("/put")
            const token = jar.get("session")!
            assert.isTrue(Option.isNone(yield* Store.find(token)))
            assert.isTrue(Option.isSome(yield* Store.find(sha(token))))
          })
        ))

      it.effect("with hashTokenInStore: false the store key is the token itself", () =>
        run((jar) =>
          Effect.gen(function*() {
            yield* jar.request("/put")
            assert.isTrue(Option.isSome(yield* Store.find(jar.get("session")!)))
          }), { hashTokenInStore: false }))

      it.effect(
        "tokens are 43 base64url characters and 1,000 of them are distinct",
        () =>
          run((jar) =>
            Effect.gen(function*() {
              const tokens = new Set<string>()
              yield* Effect.forEach(Array.from({ length: 1000 }), () =>
                Effect.map(jar.request("/put", { cookie: "" }), (reply) => {
                  const token = reply.setCookies[0]!.match(/^session=([^;]+)/)![1]!
                  assert.match(token, TOKEN)
                  tokens.add(token)
                }), { concurrency: 16, discard: true })
              assert.strictEqual(tokens.size, 1000)
            })
          ),
        { timeout: 60_000 }
      )
    })
  })
}
