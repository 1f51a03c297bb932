/**
 * An `HttpApi` with login (renews the session token and binds the session to the user), whoami, logout (destroys
 * the session), "my sessions" and "sign out other devices", using typed session keys. Run it with
 * `npx tsx examples/login.ts` (port 4001, or PORT), then:
 *
 *   curl -i -c jar -b jar -H 'content-type: application/json' \
 *     -d '{"username":"alice","password":"wonderland"}' http://localhost:4001/login
 *   curl -i -c jar -b jar http://localhost:4001/whoami
 *   curl -i -c jar -b jar http://localhost:4001/sessions
 *   curl -i -c jar -b jar -X POST http://localhost:4001/sessions/sign-out-others
 *   curl -i -c jar -b jar -X POST http://localhost:4001/logout
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Config from "effect/Config"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import * as HttpSession from "../src/HttpSession.js"
import * as Session from "../src/Session.js"
import { StoreFromEnv } from "./store.js"

// Typed session keys: values are encoded with their schema when saved and decoded when read.
const UserId = Session.key("userId", Schema.String)
const LoggedInAt = Session.key("loggedInAt", Schema.DateTimeUtc)

class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

const User = Schema.Struct({ user: Schema.String, since: Schema.DateTimeUtc })

// One of the user's sessions as "my sessions" shows it: never the token, only the store key
const DeviceSession = Schema.Struct({
  key: Schema.String,
  current: Schema.Boolean,
  agent: Schema.String,
  createdAt: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  lastSeenAt: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  expiresAt: Schema.DateTimeUtc
})

class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("login", "/login")
      .setPayload(Schema.Struct({ username: Schema.String, password: Schema.String }))
      .addSuccess(User)
      .addError(Unauthorized)
  )
  .add(HttpApiEndpoint.get("whoami", "/whoami").addSuccess(User).addError(Unauthorized))
  .add(HttpApiEndpoint.post("logout", "/logout"))
  .add(HttpApiEndpoint.get("sessions", "/sessions").addSuccess(Schema.Array(DeviceSession)).addError(Unauthorized))
  .add(
    HttpApiEndpoint.post("signOutOthers", "/sessions/sign-out-others")
      .addSuccess(Schema.Struct({ signedOut: Schema.Number }))
      .addError(Unauthorized)
  )
  .middleware(HttpSession.HttpApiSession)
{}

class Api extends HttpApi.make("login-example").add(AuthApi) {}

// A demo user; a real app checks a password hash from its database.
const users = new Map([["alice", "wonderland"]])

const AuthLive = HttpApiBuilder.group(Api, "auth", (handlers) =>
  handlers
    .handle("login", ({ payload }) =>
      Effect.gen(function*() {
        if (users.get(payload.username) !== payload.password) {
          return yield* new Unauthorized({ message: "wrong username or password" })
        }
        // a new token at login defeats session fixation
        yield* Session.renew
        const now = yield* DateTime.now
        const request = yield* HttpServerRequest.HttpServerRequest
        // bound to the user, with what "my sessions" shows of this device
        yield* Session.setUser(payload.username, { agent: request.headers["user-agent"] ?? "unknown" })
        yield* Session.set(UserId, payload.username)
        yield* Session.set(LoggedInAt, now)
        return { user: payload.username, since: now }
      }))
    .handle("whoami", () =>
      Effect.gen(function*() {
        const user = yield* Session.get(UserId)
        const since = yield* Session.get(LoggedInAt)
        if (Option.isNone(user) || Option.isNone(since)) {
          return yield* new Unauthorized({ message: "not logged in" })
        }
        return { user: user.value, since: since.value }
      }))
    .handle("logout", () => Session.destroy)
    .handle("sessions", () =>
      Effect.gen(function*() {
        const user = yield* Session.user
        if (Option.isNone(user)) return yield* new Unauthorized({ message: "not logged in" })
        const current = yield* Session.storeKey
        const sessions = yield* Session.listUserSessions(user.value)
        return sessions.map((s) => ({
          key: s.key,
          current: Option.contains(current, s.key),
          agent: Option.match(s.info, { onNone: () => "unknown", onSome: (info) => info["agent"] ?? "unknown" }),
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
          expiresAt: s.expiresAt
        }))
      }))
    .handle("signOutOthers", () =>
      Effect.gen(function*() {
        const user = yield* Session.user
        if (Option.isNone(user)) return yield* new Unauthorized({ message: "not logged in" })
        const current = yield* Session.storeKey
        const signedOut = yield* Session.revokeUserSessions(user.value, { except: Option.getOrUndefined(current) })
        return { signedOut }
      })))

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide(AuthLive),
  Layer.provide(HttpSession.layerHttpApi)
)

export const ServerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const port = yield* Config.port("PORT").pipe(Config.withDefault(4001))
  return HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
    Layer.provide(ApiLive),
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port }))
  )
})).pipe(
  Layer.provide(Session.layer({ lifetime: "12 hours", idleTimeout: "30 minutes" })),
  Layer.provide(StoreFromEnv)
)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Layer.launch(ServerLive).pipe(NodeRuntime.runMain)
}
