/**
 * A cookie jar over `fetch`, with no Effect import: both lines' `helpers/http.ts` wrap it in their Effect.
 */

export interface Reply {
  readonly status: number
  readonly body: string
  readonly headers: Headers
  readonly setCookies: ReadonlyArray<string>
}

export type RequestOptions = RequestInit & { readonly cookie?: string }

/** Enough for one host: it honours `Max-Age=0` (and a past `Expires` without `Max-Age`) as deletions. */
export class FetchJar {
  readonly cookies = new Map<string, string>()

  constructor(readonly base: string) {}

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  /** Sends the jar's cookies (or `init.cookie` instead, `""` for none) and stores the cookies the reply sets. */
  async fetch(path: string, init: RequestOptions = {}): Promise<Reply> {
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
  }
}
