/**
 * Real HTTP servers for tests: a `NodeHttpServer` on a free loopback port, driven with `fetch` and a cookie jar.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"
import { FetchJar, type Reply, type RequestOptions } from "./jar.js"

/** An `HttpServer` on 127.0.0.1 and a free port. */
export const ServerLive = NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })

/** The base URL of the provided server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

export type { Reply } from "./jar.js"

/** The shared `FetchJar`, its requests as Effects. */
export class CookieJar extends FetchJar {
  request(path: string, init: RequestOptions = {}): Effect.Effect<Reply> {
    return Effect.promise(() => this.fetch(path, init))
  }
}

/** Serves `app` on a fresh server in the current scope and returns a cookie jar pointed at it. */
export const serve = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    yield* HttpServer.serveEffect()(app)
    return new CookieJar(yield* baseUrl)
  })
