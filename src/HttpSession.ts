/**
 * Adapters from `Session` into `@effect/platform`'s HTTP server: one for `HttpRouter` / `HttpServer.serve` apps,
 * one for `HttpLayerRouter`, one for `HttpApi`. All three share one core: read the cookie, provide `Session`
 * (loaded lazily), and commit it before the response is written, on success and on failure alike.
 *
 * @since 0.1.0
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Commit from "./core/commit.js"
import * as Cookie from "./core/cookie.js"
import * as Errors from "./core/sessionError.js"
import * as Session from "./Session.js"

/**
 * Applies a commit's outcome to a response: the `Set-Cookie` header, `Vary: Cookie` on every response, and
 * `Cache-Control: no-cache="Set-Cookie"` on responses that set the cookie (so shared caches never store a
 * response carrying someone's session cookie).
 */
const applyCommit = (
  response: HttpServerResponse.HttpServerResponse,
  options: Session.ResolvedSessionOptions,
  result: Session.CommitResult,
  secure?: boolean
): HttpServerResponse.HttpServerResponse => {
  const changes = Cookie.responseChanges(options.cookie, result, {
    vary: response.headers["vary"],
    cacheControl: response.headers["cache-control"]
  }, secure)
  let out = response
  if (changes.vary !== undefined) out = HttpServerResponse.setHeader(out, "vary", changes.vary)
  if (changes.setCookie !== undefined) {
    out = HttpServerResponse.unsafeSetCookie(
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
  const out = applyCommit(response, manager.options, result, secure)
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
  Effect.catchSome(app, (error) => error instanceof Session.SessionError ? Option.some(answer(error)) : Option.none())

/**
 * The shared core: starts the current request's session from its cookie and registers the commit as a
 * pre-response handler, so it runs before the response is written whether the handler succeeded or failed. A
 * commit that cannot save answers 503 (the failure is logged), instead of pretending the session was kept.
 */
const begin: Effect.Effect<
  Session.SessionService,
  never,
  Session.SessionManager | HttpServerRequest.HttpServerRequest
> = Effect.contextWithEffect(
  (context: Context.Context<Session.SessionManager | HttpServerRequest.HttpServerRequest>) => {
    const manager = Context.get(context, Session.SessionManager)
    const request = Context.get(context, HttpServerRequest.HttpServerRequest)
    const handle = manager.begin(Cookie.read(request.headers["cookie"], manager.options.cookie.name))
    const facts = requestFacts(request, manager.options.trustProxy)
    return Effect.as(
      HttpApp.appendPreResponseHandler((_request, response) =>
        Effect.catchAll(
          // 499: the client hung up (the handler was interrupted); the commit is all or nothing, so nothing but a
          // destroy is carried out (see `SessionHandle.abort`)
          response.status === 499
            ? Effect.as(handle.abort, response)
            : Effect.flatMap(handle.commit, (result) => respond(manager, facts, response, result)),
          (error) =>
            Effect.as(
              logUnhandled(error),
              applyCommit(HttpServerResponse.empty({ status: 503 }), manager.options, Commit.UNCHANGED)
            )
        )
      ),
      handle.session
    )
  }
)

/** Runs `app` with the request's session, answering the `SessionError`s it leaves unhandled. */
const withSession = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.flatMap(begin, (session) => answerSessionErrors(Effect.provideService(app, Session.Session, session)))

/**
 * Middleware for `HttpRouter` and `HttpServer.serve` apps: provides `Session` to the app. Requires a
 * `SessionManager` (from `Session.layer(options)`) and a `SessionStore` engine.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpSession, MemStore, Session } from "effect-session"
 *
 * const Message = Session.key("message", Schema.String)
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/put", Effect.as(Session.set(Message, "Hello world!"), HttpServerResponse.text("ok"))),
 *   HttpRouter.get("/get", Effect.map(Session.get(Message), (m) => HttpServerResponse.text(Option.getOrElse(m, () => "")))),
 *   HttpSession.middleware
 * )
 *
 * const ServerLive = HttpServer.serve(app).pipe(
 *   Layer.provide(Session.layer()),
 *   Layer.provide(MemStore.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<
  E,
  Exclude<R, Session.Session> | Session.SessionManager | HttpServerRequest.HttpServerRequest
> => withSession(app)

/** The router middleware: the request's session for the wrapped route, its unhandled `SessionError`s answered. */
const routerMiddleware = <E, R>(
  manager: Session.SessionManagerService,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.provideService(withSession(httpEffect), Session.SessionManager, manager)

/**
 * Middleware for `HttpLayerRouter`: provides `Session` to the routes it is given to (`layerRouterGlobal` provides
 * it to every route of the router).
 *
 * @example
 * ```ts
 * import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
 * import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpSession, MemStore, Session } from "effect-session"
 * import { createServer } from "node:http"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * // the routes that use `Session`, with the middleware provided to them
 * const Routes = HttpLayerRouter.use((router) =>
 *   router.add(
 *     "GET",
 *     "/",
 *     Effect.gen(function*() {
 *       const visits = Option.getOrElse(yield* Session.get(Visits), () => 0) + 1
 *       yield* Session.set(Visits, visits)
 *       return HttpServerResponse.text(`visit number ${visits}`)
 *     })
 *   )
 * ).pipe(Layer.provide(HttpSession.layerRouter))
 *
 * HttpLayerRouter.serve(Routes).pipe(
 *   Layer.provide(Session.layer({ idleTimeout: "30 minutes" })),
 *   Layer.provide(MemStore.layer()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const layerRouter = HttpLayerRouter.middleware<{ provides: Session.Session }>()(
  Effect.map(Session.SessionManager, (manager) => (httpEffect) => routerMiddleware(manager, httpEffect))
).layer

/**
 * Middleware for `HttpLayerRouter` installed with `{ global: true }`: provides `Session` to every route of the
 * router (merge it with the routes given to `HttpLayerRouter.serve`).
 *
 * @since 0.1.0
 * @category middleware
 */
export const layerRouterGlobal = HttpLayerRouter.middleware<{ provides: Session.Session }>()(
  Effect.map(Session.SessionManager, (manager) => (httpEffect) => routerMiddleware(manager, httpEffect)),
  { global: true }
)

/**
 * The `SessionError`s of one status as an empty `HttpApi` error response. Effect 3's `HttpApi` answers a handler's
 * error itself, by encoding it with the endpoint's error schemas (a middleware cannot wrap the handler as on
 * Effect 4), so the status is chosen by which member of the union accepts the error, and the encoding is where the
 * error is logged (once: encoding answers it). A generated client decodes a 503 as `StoreUnavailable` and a 500 as
 * `Corrupt` (it cannot tell which error the server had).
 */
const emptyAnswer = (status: 503 | 500, decodesAs: Session.SessionErrorReason) =>
  Schema.transformOrFail(
    Schema.Void,
    Schema.typeSchema(Session.SessionError).pipe(Schema.filter((error) => Errors.httpStatus(error.reason) === status)),
    {
      strict: true,
      decode: () => ParseResult.succeed(new Session.SessionError({ reason: decodesAs })),
      encode: (error) => Effect.as(logUnhandled(error), undefined)
    }
  ).annotations(HttpApiSchema.annotations({ status }))

/**
 * The `HttpApi` middleware tag: add it to a group or endpoint with `.middleware(HttpSession.HttpApiSession)` and
 * provide `HttpSession.layerHttpApi`. Handlers then use `Session`; a `SessionError` they do not handle is answered
 * as by the other adapters: an empty 503 (store failures) or 500 (anything else), logged once. No internals reach
 * the client.
 *
 * @example
 * ```ts
 * import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Option, Schema } from "effect"
 * import { HttpSession, MemStore, Session } from "effect-session"
 * import { createServer } from "node:http"
 *
 * const Visits = Session.key("visits", Schema.Number)
 *
 * class Counter extends HttpApiGroup.make("counter")
 *   .add(HttpApiEndpoint.get("visit", "/").addSuccess(Schema.Number))
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
 *     })))
 *
 * HttpApiBuilder.serve().pipe(
 *   Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(CounterLive), Layer.provide(HttpSession.layerHttpApi))),
 *   Layer.provide(Session.layer({ idleTimeout: "30 minutes" })),
 *   Layer.provide(MemStore.layer()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 * @category HttpApi
 */
export class HttpApiSession extends HttpApiMiddleware.Tag<HttpApiSession>()("effect-session/HttpApiSession", {
  provides: Session.Session,
  failure: Schema.Union(emptyAnswer(503, "StoreUnavailable"), emptyAnswer(500, "Corrupt"))
}) {}

/**
 * The implementation of `HttpApiSession`. It reads the session cookie from the request (the cookie's name is
 * configuration, so it is read directly rather than through a static `HttpApiSecurity` declaration).
 *
 * @since 0.1.0
 * @category HttpApi
 */
export const layerHttpApi: Layer.Layer<HttpApiSession, never, Session.SessionManager> = Layer.effect(
  HttpApiSession,
  Effect.map(Session.SessionManager, (manager) => Effect.provideService(begin, Session.SessionManager, manager))
)
