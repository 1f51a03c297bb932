/**
 * Real HTTP servers for tests: a `NodeHttpServer` on a free loopback port, driven with `fetch` and a cookie jar.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"

/** An `HttpServer` on 127.0.0.1 and a free port. */
export const ServerLive = NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })

/** The base URL of the provided server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

export interface Reply {
  readonly status: number
  readonly body: string
  readonly headers: Headers
  readonly setCookies: ReadonlyArray<string>
}

/** A cookie jar over `fetch`, enough for one host: it honours `Max-Age=0` (and a past `Expires` without `Max-Age`) as deletions. */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  constructor(readonly base: string) {}

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  request(path: string, init: RequestInit & { readonly cookie?: string } = {}): Effect.Effect<Reply> {
    return Effect.promise(async () => {
      const headers = new Headers(init.headers)
      const cookie = init.cookie ?? Array.from(this.cookies, ([k, v]) => `${k}=${v}`).join("; ")
      if (cookie !== "") headers.set("cookie", cookie)
      const response = await fetch(this.base + path, { ...init, headers, redirect: "manual" })
      const body = await response.text()
      const setCookies = response.headers.getSetCookie()
      for (const line of setCookies) {
        const [pair, ...attributes] = line.split(";").map((s) => s.trim())
        const eq = pair!.indexOf("=")
        const name = pair!.slice(0, eq)
        const value = pair!.slice(eq + 1)
        // Max-Age wins over Expires (RFC 6265 5.3); servers under TestClock send Expires dates near 1970
        const maxAge = attributes.find((a) => /^max-age=/i.test(a))
        const expires = attributes.find((a) => /^expires=/i.test(a))
        const expired = maxAge !== undefined
          ? Number(maxAge.slice(8)) <= 0
          : expires !== undefined && Date.parse(expires.slice(8)) <= Date.now()
        if (expired) this.cookies.delete(name)
        else this.cookies.set(name, value)
      }
      return { status: response.status, body, headers: response.headers, setCookies }
    })
  }
}

/** Serves `app` on a fresh server in the current scope and returns a cookie jar pointed at it. */
export const serve = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    yield* HttpServer.serveEffect()(app)
    return new CookieJar(yield* baseUrl)
  })
