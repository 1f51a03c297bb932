/**
 * Adapters from `Session` into Effect's HTTP server (`effect/http`): one for apps served with
 * `HttpServer.serve(effect)`, one for `HttpRouter` (per route or global), one for `HttpApi`. All share one core:
 * read the cookie, provide `Session` (loaded lazily), and commit it before the response is written, on success and
 * on failure alike.
 *
 * A client that hangs up mid-handler interrupts the handler, and the server answers 499: the commit then carries out
 * only a `destroy` (a logout is never lost) and nothing else, as on the Effect 3 line. Pre-response handlers only
 * run under a real server (or `HttpEffect.toWebHandler`).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import * as HttpEffect from "effect/http/HttpEffect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Commit from "./core/commit.js"
import * as Cookie from "./core/cookie.js"
import * as Errors from "./core/sessionError.js"
import * as Session from "./Session.js"

/** Applies a commit's outcome to a response: `Set-Cookie`, `Vary: Cookie`, `Cache-Control` (see `core/cookie.ts`). */
const applyCommit = (
  response: HttpServerResponse.HttpServerResponse,
  cookie: Cookie.ResolvedCookie,
  result: Session.CommitResult,
  secure?: boolean
): HttpServerResponse.HttpServerResponse => {
  const changes = Cookie.responseChanges(cookie, result, {
    vary: response.headers["vary"],
    cacheControl: response.headers["cache-control"]
  }, secure)
  let out = response
  if (changes.vary !== undefined) out = HttpServerResponse.setHeader(out, "vary", changes.vary)
  if (changes.setCookie !== undefined) {
    out = HttpServerResponse.setCookieUnsafe(
      out,
      changes.setCookie.name,
      changes.setCookie.value,
      changes.setCookie.options
    )
  }
  if (changes.cacheControl !== undefined) out = HttpServerResponse.setHeader(out, "cache-control", changes.cacheControl)
  return out
}

/** What the cookie rules need to know of a request (see `Cookie.security`). */
const requestFacts = (request: HttpServerRequest.HttpServerRequest, trustProxy: boolean): Cookie.RequestFacts => ({
  tls: Cookie.connectionIsTls(request.source),
  forwardedProto: request.headers["x-forwarded-proto"],
  host: request.headers["host"],
  trustProxy
})

/**
 * Applies a commit's outcome with the `Secure` attribute this request calls for, warning (once per session layer)
 * when a `Secure` cookie is set over plain HTTP to a host that is not the local machine.
 */
const respond = (
  manager: Session.SessionManagerService,
  facts: Cookie.RequestFacts,
  response: HttpServerResponse.HttpServerResponse,
  result: Session.CommitResult
) => {
  const { secure, warn } = Cookie.security(manager.options.cookie, facts)
  const out = applyCommit(response, manager.options.cookie, result, secure)
  return warn && result._tag !== "Unchanged" && Cookie.firstWarning(manager)
    ? Effect.as(Effect.logWarning(Cookie.insecureWarning(manager.options.cookie, facts.host)), out)
    : Effect.succeed(out)
}

/** Logs a `SessionError` the session did not log where it happened (see `Errors.loggedWhereItHappened`). */
const logUnhandled = (error: Session.SessionError) =>
  Errors.loggedWhereItHappened(error.reason)
    ? Effect.void
    : Effect.logError("effect-session: unhandled session error", error.message)

/** The empty response that answers a `SessionError`: 503 for a store failure, 500 otherwise (logged). */
const answer = (error: Session.SessionError) =>
  Effect.as(logUnhandled(error), HttpServerResponse.empty({ status: Errors.httpStatus(error.reason) }))

/** Answers the `SessionError`s an app leaves unhandled (nothing about them reaches the client). */
const answerSessionErrors = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> =>
  Effect.catch(app, (error) => error instanceof Session.SessionError ? answer(error) : Effect.fail(error))

/**
 * Starts the current request's session from its cookie and registers the commit as a pre-response handler, so it
 * runs before the response is written whether the handler succeeded or failed. A commit that cannot save answers
 * 503 (the failure is logged), instead of pretending the session was kept.
 */
const begin: Effect.Effect<
  Session.SessionService,
  never,
  Session.SessionManager | HttpServerRequest.HttpServerRequest
> = Effect.contextWith((context: Context.Context<Session.SessionManager | HttpServerRequest.HttpServerRequest>) => {
  const manager = Context.get(context, Session.SessionManager)
  const request = Context.get(context, HttpServerRequest.HttpServerRequest)
  const cookie = manager.options.cookie
  const handle = manager.begin(Cookie.read(request.headers["cookie"], cookie.name))
  const facts = requestFacts(request, manager.options.trustProxy)
  HttpEffect.appendPreResponseHandlerUnsafe(context, (_request, response) =>
    Effect.catch(
      // 499: the client hung up (the handler was interrupted); the commit is all or nothing, so nothing but a
      // destroy is carried out (see `SessionHandle.abort`)
      response.status === 499
        ? Effect.as(handle.abort, response)
        : Effect.flatMap(handle.commit, (result) => respond(manager, facts, response, result)),
      (error) =>
        Effect.as(logUnhandled(error), applyCommit(HttpServerResponse.empty({ status: 503 }), cookie, Commit.UNCHANGED))
    ))
  return Effect.succeed(handle.session)
})

/** Runs `app` with the request's session, answering the `SessionError`s it leaves unhandled. */
const withSession = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(begin, (session) => answerSessionErrors(Effect.provideService(app, Session.Session, session)))

/**
 * Middleware for apps served with `HttpServer.serve(app)` (an app is an `Effect` that answers the current
 * request): provides `Session` to the app. Requires a `SessionManager` (from `Session.layer(options)`) and a
 * `SessionStore` engine.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
 * import { HttpSession, MemStore, Session } from "effect-session"
 *
 * const Message = Session.key("message", Schema.String)
 *
 * const app = Effect.map(
 *   HttpRouter.toHttpEffect(HttpRouter.addAll([
 *     HttpRouter.route("GET", "/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("ok"))),
 *     HttpRouter.route("GET", "/get", Effect.map(Session.get(Message), (m) => HttpServerResponse.text(Option.getOrElse(m, () => ""))))
 *   ])),
 *   HttpSession.middleware
 * )
 *
 * const ServerLive = Layer.unwrap(Effect.map(app, HttpServer.serve())).pipe(
 *   Layer.provide(Session.layer()),
 *   Layer.provide(MemStore.layer())
 * )
 * ```
 *
 * @since 1.0.0
 * @category middleware
 */
export const middleware = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  Exclude<R, Session.Session> | Session.SessionManager | HttpServerRequest.HttpServerRequest
> => withSession(app)

/** The router middleware: the request's session for the wrapped route, its unhandled `SessionError`s answered. */
const routerMiddleware = <E, R>(
  manager: Session.SessionManagerService,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.provideService(withSession(httpEffect), Session.SessionManager, manager)

/**
 * Middleware for `HttpRouter`: provides `Session` to the routes it is given to (`layerRouterGlobal` provides it to
 * every route of the router).
 *
 * @example
 * ```ts
 * import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { HttpSession, MemStore, Session } from "effect-session"
 * import { createServer } from "node:http"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * // the routes that use `Session`, with the middleware provided to them
 * const Routes = HttpRouter.add(
 *   "GET",
 *   "/",
 *   Effect.gen(function*() {
 *     const visits = Option.getOrElse(yield* Session.get(Visits), () => 0) + 1
 *     yield* Session.set(Visits, visits)
 *     return HttpServerResponse.text(`visit number ${visits}`)
 *   })
 * ).pipe(Layer.provide(HttpSession.layerRouter))
 *
 * HttpRouter.serve(Routes).pipe(
 *   Layer.provide(Session.layer({ idleTimeout: "30 minutes" })),
 *   Layer.provide(MemStore.layer()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 1.0.0
 * @category middleware
 */
export const layerRouter = HttpRouter.middleware<{ provides: Session.Session }>()(
  Effect.map(Session.SessionManager, (manager) => (httpEffect) => routerMiddleware(manager, httpEffect))
).layer

/**
 * Middleware for `HttpRouter` installed with `{ global: true }`: provides `Session` to every route of the router.
 * Provide it to the routes: `HttpRouter.serve(Routes.pipe(Layer.provide(HttpSession.layerRouterGlobal)))`.
 *
 * @since 1.0.0
 * @category middleware
 */
export const layerRouterGlobal = HttpRouter.middleware<{ provides: Session.Session }>()(
  Effect.map(Session.SessionManager, (manager) => (httpEffect) => routerMiddleware(manager, httpEffect)),
  { global: true }
)

/**
 * The `HttpApi` middleware: add it to a group or endpoint with `.middleware(HttpSession.HttpApiSession)` and
 * provide `HttpSession.layerHttpApi`. Handlers then use `Session`; a `SessionError` they do not handle is answered
 * with an empty 503 (store failures) or 500 (anything else): nothing about it reaches the client.
 *
 * @example
 * ```ts
 * import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
 * import { HttpSession, MemStore, Session } from "effect-session"
 * import { createServer } from "node:http"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * class Counter extends HttpApiGroup.make("counter")
 *   .add(HttpApiEndpoint.get("visit", "/", { success: Schema.Number }))
 *   .middleware(HttpSession.HttpApiSession)
 * {}
 * class Api extends HttpApi.make("api").add(Counter) {}
 *
 * const CounterLive = HttpApiBuilder.group(Api, "counter", (handlers) =>
 *   handlers.handle("visit", () =>
 *     Effect.gen(function*() {
 *       const visits = Option.getOrElse(yield* Session.get(Visits), () => 0) + 1
 *       yield* Session.set(Visits, visits)
 *       return visits
 *     }))).pipe(
 *   // the group's routes capture the middleware's implementation when they are built
 *   Layer.provide(HttpSession.layerHttpApi)
 * )
 *
 * HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(CounterLive))).pipe(
 *   Layer.provide(Session.layer({ idleTimeout: "30 minutes" })),
 *   Layer.provide(MemStore.layer()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 1.0.0
 * @category HttpApi
 */
export class HttpApiSession extends HttpApiMiddleware.Service<HttpApiSession, { provides: Session.Session }>()(
  "effect-session/HttpApiSession",
  {
    // documented as what the client gets (the middleware answers the error itself, before HttpApi could encode it):
    // an empty 503 or 500; a generated client decodes a 503 as a store failure and a 500 as `Corrupt` (it cannot
    // tell which error the server had), as on the Effect 3 line
    error: [
      Session.SessionError.pipe(
        HttpApiSchema.asNoContent({ decode: () => new Session.SessionError({ reason: "StoreUnavailable" }) }),
        HttpApiSchema.status(503)
      ),
      Session.SessionError.pipe(
        HttpApiSchema.asNoContent({ decode: () => new Session.SessionError({ reason: "Corrupt" }) }),
        HttpApiSchema.status(500)
      )
    ]
  }
) {}

/**
 * The implementation of `HttpApiSession`. It reads the session cookie from the request (the cookie's name is
 * configuration, so it is read directly rather than through a static `HttpApiSecurity` declaration).
 *
 * @since 1.0.0
 * @category HttpApi
 */
export const layerHttpApi: Layer.Layer<HttpApiSession, never, Session.SessionManager> = Layer.effect(
  HttpApiSession,
  Effect.map(Session.SessionManager, (manager) => (httpEffect) => routerMiddleware(manager, httpEffect))
)
