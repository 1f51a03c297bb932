/**
 * Testing with sessions: a cookie jar over an `HttpClient`, a session layer for `TestClock`-driven tests, and the
 * conformance suite a custom engine runs.
 *
 * Import it from test files only. It needs `@effect/vitest` (an optional peer dependency: `npm install -D
 * @effect/vitest vitest`), and its conformance suite also `fast-check` (another one). The package's main entry
 * point never imports it, so an application that does not test with it needs neither.
 *
 * @example
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { assert, it } from "@effect/vitest"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpSession, Session } from "effect-session"
 * import * as SessionTest from "effect-session/testing"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { TestClock } from "effect/testing"
 *
 * // the app under test: POST /login sets the user, GET /me answers it
 * const User = Session.key("user", Schema.String)
 * const App = HttpRouter.addAll([
 *   HttpRouter.route("POST", "/login", Effect.as(Session.set(User, "ada"), HttpServerResponse.empty())),
 *   HttpRouter.route(
 *     "GET",
 *     "/me",
 *     Effect.map(Session.get(User), (user) => HttpServerResponse.text(Option.getOrElse(user, () => "nobody")))
 *   )
 * ]).pipe(Layer.provide(HttpSession.layerRouter))
 *
 * const Server = HttpRouter.serve(App, { disableLogger: true }).pipe(
 *   Layer.provideMerge(NodeHttpServer.layerTest),
 *   Layer.provide(SessionTest.layerSession({ idleTimeout: "30 minutes" }))
 * )
 *
 * it.effect("a session ends after 30 idle minutes", () =>
 *   Effect.gen(function*() {
 *     const { client } = yield* SessionTest.cookieJar
 *     const me = Effect.flatMap(client.get("/me"), (response) => response.text)
 *     yield* client.post("/login")
 *     assert.strictEqual(yield* me, "ada")
 *     yield* TestClock.adjust("31 minutes")
 *     assert.strictEqual(yield* me, "nobody")
 *   }).pipe(Effect.provide(Server)))
 * ```
 *
 * @since 1.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Cookies from "effect/http/Cookies"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as MemStore from "./MemStore.js"
import * as Session from "./Session.js"
import type * as Store from "./Store.js"

export { type ConformanceOptions, storeConformance } from "./testing/conformance.js"

/**
 * A client that keeps the cookies its responses set and sends them back, as a browser does for one site.
 *
 * - Every request made with `client` carries the jar's cookies in one `Cookie` header, unless the request has a
 *   `Cookie` header of its own (then it is sent as it is: a test of a forged or stale cookie).
 * - Every response's `Set-Cookie` headers update the jar: a cookie is stored (its raw value, sent back byte for
 *   byte), or removed when it has `Max-Age` 0 or less, or, without `Max-Age`, an `Expires` not after now on the
 *   Effect `Clock` (so under `TestClock` the server's and the jar's "now" agree).
 * - Cookies are not expired by time: after `TestClock.adjust` the jar still sends the cookie, and the test sees
 *   what the server does with it (a browser whose cookie outlived the server's session, or a session cookie).
 * - One host: `Domain`, `Path`, `Secure` and `SameSite` are not checked.
 *
 * @since 1.0.0
 * @category cookie jar
 */
export interface CookieJar {
  /** The wrapped client. */
  readonly client: HttpClient.HttpClient
  /** The cookies held, by name. */
  readonly cookies: Effect.Effect<Readonly<Record<string, string>>>
  /** One cookie's value. */
  readonly get: (name: string) => Effect.Effect<Option.Option<string>>
  /** Stores a cookie (`value` is sent as it is). */
  readonly set: (name: string, value: string) => Effect.Effect<void>
  /** Forgets one cookie. */
  readonly remove: (name: string) => Effect.Effect<void>
  /** Forgets every cookie: the next request is a new visitor's. */
  readonly clear: Effect.Effect<void>
}

const isDeletion = (options: Cookies.Cookie["options"], now: number): boolean => {
  if (options?.maxAge !== undefined) return Duration.toMillis(options.maxAge) <= 0
  return options?.expires !== undefined && options.expires.getTime() <= now
}

/**
 * Wraps `client` in a new, empty cookie jar.
 *
 * @since 1.0.0
 * @category cookie jar
 */
export const makeCookieJar = (client: HttpClient.HttpClient): Effect.Effect<CookieJar> =>
  Effect.map(Ref.make<Readonly<Record<string, string>>>({}), (ref) => {
    const remember = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(ref, (held) => {
          const next: Record<string, string> = { ...held }
          for (const cookie of Object.values(response.cookies.cookies)) {
            if (isDeletion(cookie.options, now)) delete next[cookie.name]
            else next[cookie.name] = cookie.valueEncoded
          }
          return next
        }))
    const attach = (request: HttpClientRequest.HttpClientRequest) =>
      request.headers["cookie"] !== undefined
        ? Effect.succeed(request)
        : Effect.map(Ref.get(ref), (held) => {
          const header = Object.entries(held).map(([name, value]) => `${name}=${value}`).join("; ")
          return header === "" ? request : HttpClientRequest.setHeader(request, "cookie", header)
        })
    return {
      client: client.pipe(HttpClient.mapRequestEffect(attach), HttpClient.tap(remember)),
      cookies: Ref.get(ref),
      get: (name) => Effect.map(Ref.get(ref), (held) => Option.fromNullishOr(held[name])),
      set: (name, value) => Ref.update(ref, (held) => ({ ...held, [name]: value })),
      remove: (name) =>
        Ref.update(ref, (held) => {
          const { [name]: _, ...rest } = held
          return rest
        }),
      clear: Ref.set(ref, {})
    }
  })

/**
 * A new, empty cookie jar around the `HttpClient` in context (with `NodeHttpServer.layerTest`: a client of the
 * test server). Each `yield*` makes a new jar: two jars are two browsers.
 *
 * @since 1.0.0
 * @category cookie jar
 */
export const cookieJar: Effect.Effect<CookieJar, never, HttpClient.HttpClient> = Effect.flatMap(
  HttpClient.HttpClient,
  makeCookieJar
)

/**
 * Sessions for a test: `Session.layer(options)` over a fresh `MemStore`. Expiry (`lifetime`, `idleTimeout`, a
 * renew's grace) follows the Effect `Clock`, so inside `it.effect` it moves only with `TestClock.adjust`. Provides
 * the `SessionManager` (for `HttpSession` and the `Session` functions that run outside a request), and the store as
 * `Store.SessionStore` and `MemStore` (to look at what is stored: `MemStore.size`).
 *
 * The store's background sweep is off unless `store.cleanupInterval` says otherwise: expired sessions are still
 * never returned (expiry is checked on every read), and no fiber sleeps on the `TestClock` (a sleeping fiber makes
 * `TestClock` print a warning in tests that run 5 seconds without adjusting it).
 *
 * Build it inside each test (`Effect.provide` in the test's Effect), so that every test gets an empty store on its
 * own clock.
 *
 * @since 1.0.0
 * @category layers
 */
export const layerSession = (
  options?: Session.SessionOptions,
  store?: MemStore.MemStoreOptions
): Layer.Layer<
  Session.SessionManager | Store.SessionStore | MemStore.MemStore,
  Session.SessionError | Store.SessionStoreError
> => Session.layer(options).pipe(Layer.provideMerge(MemStore.layer({ cleanupInterval: 0, ...store })))
