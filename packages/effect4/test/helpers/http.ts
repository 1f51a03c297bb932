/**
 * Real HTTP servers for tests: a `NodeHttpServer` on a free loopback port, driven with `fetch` and the cookie jar
 * both lines share (`test/helpers/jar.ts` at the root, Effect-free).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as HttpServer from "effect/http/HttpServer"
import type * as HttpServerResponse from "effect/http/HttpServerResponse"
import { createServer } from "node:http"
import { FetchJar, type Reply, type RequestOptions } from "../../../../test/helpers/jar.js"

/**
 * An `HttpServer` on 127.0.0.1 and a free port. Its shutdown waits at most 1 s for open connections (the default,
 * 20 s, would hold every test that leaves a keep-alive connection behind).
 */
export const ServerLive = NodeHttpServer.layer(() => createServer(), {
  port: 0,
  host: "127.0.0.1",
  gracefulShutdownTimeout: "1 second"
})

/** The base URL of the provided server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "InetAddressV4") throw new Error(`expected an IPv4 address, got ${address._tag}`)
  return `http://127.0.0.1:${address.port}`
})

export type { Reply } from "../../../../test/helpers/jar.js"

/** The shared `FetchJar`, its requests as Effects. */
export class CookieJar extends FetchJar {
  request(path: string, init: RequestOptions = {}): Effect.Effect<Reply> {
    return Effect.promise(() => this.fetch(path, init))
  }
}

/** Serves `app` on the provided server in the current scope and returns a cookie jar pointed at it. */
export const serve = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    yield* HttpServer.serveEffect()(app)
    return new CookieJar(yield* baseUrl)
  })
