/**
 * The public `testing` module (`effect-session/testing`): the README's "Testing your app" recipe, run as written,
 * the cookie jar against a real test server, and `layerSession` under `TestClock`. (Its conformance suite runs in
 * the engines' own test files.)
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { readFileSync } from "node:fs"
import * as HttpSession from "../src/HttpSession.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as SessionTest from "../src/testing.js"

// the app the README's recipe tests: POST /login sets the user, GET /me answers it
const User = Session.key("user", Schema.String)
const App = HttpRouter.addAll([
  HttpRouter.route("POST", "/login", Effect.as(Session.set(User, "ada"), HttpServerResponse.empty())),
  HttpRouter.route("POST", "/logout", Effect.as(Session.destroy, HttpServerResponse.empty())),
  HttpRouter.route(
    "GET",
    "/me",
    Effect.map(Session.get(User), (user) => HttpServerResponse.text(Option.getOrElse(user, () => "nobody")))
  ),
  HttpRouter.route(
    "GET",
    "/echo",
    Effect.map(
      HttpServerRequest.HttpServerRequest,
      (request) => HttpServerResponse.text(request.headers["cookie"] ?? "")
    )
  ),
  HttpRouter.route(
    "GET",
    "/plain",
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) =>
        HttpServerResponse.setCookie(HttpServerResponse.empty(), "plain", request.url.includes("gone") ? "" : "p q", {
          path: "/",
          ...(request.url.includes("gone") ? { expires: new Date(1000) } : {}),
          ...(request.url.includes("later") ? { expires: new Date(3_600_000) } : {})
        }).pipe(Effect.orDie)
    )
  )
]).pipe(Layer.provide(HttpSession.layerRouter))

// recipe: start
const Server = HttpRouter.serve(App, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest), // a server on a free port, and an HttpClient of it
  Layer.provide(SessionTest.layerSession({ idleTimeout: "30 minutes" })) // MemStore on the TestClock
)

it.effect("a session ends after 30 idle minutes", () =>
  Effect.gen(function*() {
    const { client } = yield* SessionTest.cookieJar // keeps Set-Cookie, sends Cookie
    const me = Effect.flatMap(client.get("/me"), (response) => response.text)
    yield* client.post("/login")
    assert.strictEqual(yield* me, "ada")
    yield* TestClock.adjust("31 minutes")
    assert.strictEqual(yield* me, "nobody")
  }).pipe(Effect.provide(Server)))
// recipe: end

const text = (client: SessionTest.CookieJar["client"], path: string, init?: { readonly cookie?: string }) =>
  Effect.flatMap(
    client.get(path, init?.cookie === undefined ? {} : { headers: { cookie: init.cookie } }),
    (r) => r.text
  )

describe("the README's recipe", () => {
  it("is the test above, word for word, after its imports", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    const at = readme.indexOf("<!-- recipe: testing -->")
    assert.isAtLeast(at, 0, "README.md has a <!-- recipe: testing --> block")
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))![1]!
    const body = block.slice(block.indexOf("const Server"))
    const source = readFileSync(new URL(import.meta.url), "utf8")
    const recipe = source.slice(source.indexOf("// recipe: start\n") + 17, source.indexOf("// recipe: end"))
    assert.strictEqual(body, recipe)
    // and its imports are the public ones of what the recipe uses
    for (
      const line of [
        `import { NodeHttpServer } from "@effect/platform-node"`,
        `import { assert, it } from "@effect/vitest"`,
        `import { Effect, Layer } from "effect"`,
        `import { HttpRouter } from "effect/http"`,
        `import { TestClock } from "effect/testing"`,
        `import * as SessionTest from "effect-session/testing"`
      ]
    ) assert.include(block, `${line}\n`)
  })
})

describe("cookieJar", () => {
  it.effect("sends back the cookie a response set; another jar is another visitor", () =>
    Effect.gen(function*() {
      const jar = yield* SessionTest.cookieJar
      assert.strictEqual(yield* text(jar.client, "/echo"), "", "an empty jar sends no Cookie header")
      yield* jar.client.post("/login")
      const token = Option.getOrThrow(yield* jar.get("session"))
      assert.match(token, /^[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(yield* text(jar.client, "/echo"), `session=${token}`)
      assert.strictEqual(yield* text(jar.client, "/me"), "ada")
      const other = yield* SessionTest.cookieJar
      assert.strictEqual(yield* text(other.client, "/me"), "nobody")
      assert.deepStrictEqual(yield* other.cookies, {})
    }).pipe(Effect.provide(Server)))

  it.effect("a logout's expired cookie leaves the jar, and the next request carries none", () =>
    Effect.gen(function*() {
      const jar = yield* SessionTest.cookieJar
      yield* jar.client.post("/login")
      yield* jar.set("theme", "dark")
      yield* jar.client.post("/logout")
      assert.isTrue(Option.isNone(yield* jar.get("session")))
      assert.deepStrictEqual(yield* jar.cookies, { theme: "dark" })
      assert.strictEqual(yield* text(jar.client, "/echo"), "theme=dark")
      assert.strictEqual(yield* text(jar.client, "/me"), "nobody")
    }).pipe(Effect.provide(Server)))

  it.effect("Expires without Max-Age deletes when it is not after now on the Effect Clock; raw values go back", () =>
    Effect.gen(function*() {
      const jar = yield* SessionTest.cookieJar
      yield* jar.client.get("/plain?later") // Expires 1970-01-01T01:00Z: in the future on the TestClock
      assert.deepStrictEqual(yield* jar.cookies, { plain: "p%20q" })
      assert.strictEqual(yield* text(jar.client, "/echo"), "plain=p%20q")
      yield* TestClock.adjust("2 hours") // cookies are not expired by time
      assert.strictEqual(yield* text(jar.client, "/echo"), "plain=p%20q")
      yield* jar.client.get("/plain?gone") // Expires 1970-01-01T00:00:01Z: in the past
      assert.deepStrictEqual(yield* jar.cookies, {})
    }).pipe(Effect.provide(Server)))

  it.effect("a request's own Cookie header is sent as it is; set, remove and clear edit the jar", () =>
    Effect.gen(function*() {
      const jar = yield* SessionTest.cookieJar
      yield* jar.client.post("/login")
      assert.strictEqual(yield* text(jar.client, "/echo", { cookie: "session=forged" }), "session=forged")
      assert.strictEqual(yield* text(jar.client, "/me", { cookie: "session=forged" }), "nobody")
      const token = Option.getOrThrow(yield* jar.get("session"))
      yield* jar.set("a", "1")
      assert.strictEqual(yield* text(jar.client, "/echo"), `session=${token}; a=1`)
      yield* jar.remove("session")
      assert.strictEqual(yield* text(jar.client, "/echo"), "a=1")
      yield* jar.clear
      assert.strictEqual(yield* text(jar.client, "/echo"), "")
      yield* jar.set("session", token)
      assert.strictEqual(yield* text(jar.client, "/me"), "ada", "a token set by hand is the session")
    }).pipe(Effect.provide(Server)))
})

describe("layerSession", () => {
  it.effect("idle expiry and its extension move with TestClock; the store is a MemStore of its own", () =>
    Effect.gen(function*() {
      const { client } = yield* SessionTest.cookieJar
      yield* client.post("/login")
      assert.strictEqual(yield* (yield* MemStore.MemStore).size, 1)
      yield* TestClock.adjust("29 minutes")
      assert.strictEqual(yield* text(client, "/me"), "ada", "a request within idleTimeout extends it")
      yield* TestClock.adjust("29 minutes")
      assert.strictEqual(yield* text(client, "/me"), "ada", "58 minutes after login, 29 after the last request")
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual(yield* text(client, "/me"), "nobody")
    }).pipe(
      Effect.provide(
        HttpRouter.serve(App, { disableLogger: true }).pipe(
          Layer.provideMerge(NodeHttpServer.layerTest),
          Layer.provideMerge(SessionTest.layerSession({ idleTimeout: "30 minutes" }))
        )
      )
    ))

  it.effect("the lifetime ends a session however active", () =>
    Effect.gen(function*() {
      const { client } = yield* SessionTest.cookieJar
      yield* client.post("/login")
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("50 minutes")
        assert.strictEqual(yield* text(client, "/me"), i < 4 ? "ada" : "nobody", `after ${(i + 1) * 50} minutes`)
      }
    }).pipe(
      Effect.provide(
        HttpRouter.serve(App, { disableLogger: true }).pipe(
          Layer.provideMerge(NodeHttpServer.layerTest),
          Layer.provide(SessionTest.layerSession({ lifetime: "4 hours", idleTimeout: "1 hour" }))
        )
      )
    ))

  it.effect("invalid session options fail the layer with a typed SessionError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(SessionTest.layerSession({ idleTimeout: "0 seconds" })))
      assert.strictEqual(error._tag, "SessionError")
    }))
})
