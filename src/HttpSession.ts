/**
 * Adapters from `Session` into `@effect/platform`'s HTTP server: one for `HttpRouter` / `HttpServer.serve` apps,
 * one for `HttpLayerRouter`, one for `HttpApi`. All three share one core: read the cookie, provide `Session`
 * (loaded lazily), and commit it before the response is written, on success and on failure alike.
 *
 * @since 0.1.0
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Token from "./core/token.js"
import * as Session from "./Session.js"

const EXPIRED = new Date(0)

/**
 * Applies a commit's outcome to a response: the `Set-Cookie` header, `Vary: Cookie` on every response, and
 * `Cache-Control: no-cache="Set-Cookie"` on responses that set the cookie (so shared caches never store a
 * response carrying someone's session cookie).
 *
 * @since 0.1.0
 * @category internals
 */
export const applyCommit = (
  response: HttpServerResponse.HttpServerResponse,
  options: Session.ResolvedSessionOptions,
  result: Session.CommitResult
): HttpServerResponse.HttpServerResponse => {
  const vary = response.headers["vary"]
  let out = vary === undefined
    ? HttpServerResponse.setHeader(response, "vary", "Cookie")
    : /(^|,)\s*(cookie|\*)\s*(,|$)/i.test(vary)
    ? response
    : HttpServerResponse.setHeader(response, "vary", `${vary}, Cookie`)
  if (result._tag === "Unchanged") return out
  const cookie = options.cookie
  const base = {
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    partitioned: cookie.partitioned,
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain })
  }
  out = result._tag === "SetCookie"
    ? HttpServerResponse.unsafeSetCookie(out, cookie.name, result.token, {
      ...base,
      ...(result.maxAge === undefined ? {} : { maxAge: `${result.maxAge} seconds` }),
      ...(result.expires === undefined ? {} : { expires: result.expires })
    })
    : HttpServerResponse.unsafeSetCookie(out, cookie.name, "", { ...base, maxAge: 0, expires: EXPIRED })
  const cacheControl = out.headers["cache-control"]
  return HttpServerResponse.setHeader(
    out,
    "cache-control",
    cacheControl === undefined ? "no-cache=\"Set-Cookie\"" : `${cacheControl}, no-cache="Set-Cookie"`
  )
}

/**
 * The shared core: starts the current request's session from its cookie and registers the commit as a
 * pre-response handler, so it runs before the response is written whether the handler succeeded or failed. A
 * commit that cannot save answers 503 (the failure is logged), instead of pretending the session was kept.
 *
 * @since 0.1.0
 * @category internals
 */
export const begin: Effect.Effect<
  Session.SessionService,
  never,
  Session.SessionManager | HttpServerRequest.HttpServerRequest
> = Effect.contextWithEffect(
  (context: Context.Context<Session.SessionManager | HttpServerRequest.HttpServerRequest>) => {
    const manager = Context.get(context, Session.SessionManager)
    const request = Context.get(context, HttpServerRequest.HttpServerRequest)
    const handle = manager.begin(Token.cookieValue(request.headers["cookie"], manager.options.cookie.name))
    return Effect.as(
      HttpApp.appendPreResponseHandler((_request, response) =>
        Effect.catchAll(
          Effect.map(handle.commit, (result) => applyCommit(response, manager.options, result)),
          () =>
            Effect.succeed(
              applyCommit(HttpServerResponse.empty({ status: 503 }), manager.options, { _tag: "Unchanged" })
            )
        )
      ),
      handle.session
    )
  }
)

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
> => Effect.flatMap(begin, (session) => Effect.provideService(app, Session.Session, session))

/**
 * Middleware for `HttpLayerRouter`: provides `Session` to the routes it is given to (or to every route with
 * `{ global: true }` via `layerRouterGlobal`).
 *
 * @example
 * ```ts
 * import { HttpLayerRouter } from "@effect/platform"
 * import { Layer } from "effect"
 * import { HttpSession, MemStore, Session } from "effect-session"
 *
 * declare const Routes: Layer.Layer<never, never, HttpLayerRouter.Request<"Requires", Session.Session>>
 *
 * const RoutesWithSessions = Routes.pipe(
 *   Layer.provide(HttpSession.layerRouter),
 *   Layer.provide(Session.layer()),
 *   Layer.provide(MemStore.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const layerRouter = HttpLayerRouter.middleware<{ provides: Session.Session }>()(
  Effect.map(
    Session.SessionManager,
    (manager) => (httpEffect) =>
      Effect.flatMap(
        Effect.provideService(begin, Session.SessionManager, manager),
        (session) => Effect.provideService(httpEffect, Session.Session, session)
      )
  )
).layer

/**
 * The `HttpApi` middleware tag: add it to a group or endpoint with `.middleware(HttpSession.HttpApiSession)` and
 * provide `HttpSession.layerHttpApi`. Handlers then use `Session`; a `SessionError` they do not handle is
 * answered with 503.
 *
 * @since 0.1.0
 * @category HttpApi
 */
export class HttpApiSession extends HttpApiMiddleware.Tag<HttpApiSession>()("effect-session/HttpApiSession", {
  provides: Session.Session,
  failure: Session.SessionError
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
