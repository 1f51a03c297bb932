/**
 * The session cookie: its options and the rules browsers hold them to, reading it from a `Cookie` header, and what
 * a commit adds to the response (`Set-Cookie`, `Vary`, `Cache-Control`). Both lines' `HttpSession` hand the
 * result to their platform's response API.
 *
 * @internal
 */
import type { CommitResult } from "./commit.js"

/** The cookie options a user gives (`Session.CookieOptions`). @internal */
export interface CookieOptions {
  /** Default `"session"`. A `__Host-` name requires `secure`, `path: "/"` and no `domain`. */
  readonly name?: string | undefined
  readonly domain?: string | undefined
  /** Default `"/"`. */
  readonly path?: string | undefined
  /** Default `true`: scripts in the page cannot read the cookie. */
  readonly httpOnly?: boolean | undefined
  /** Default `true`: the cookie is only sent over HTTPS (browsers treat `localhost` as secure). */
  readonly secure?: boolean | undefined
  /** Default `"lax"`. `"none"` requires `secure`. */
  readonly sameSite?: "lax" | "strict" | "none" | undefined
  /** Default `false` (CHIPS). Requires `secure`. */
  readonly partitioned?: boolean | undefined
  /**
   * Default `true`: the cookie carries `Max-Age`/`Expires` and outlives the browser session. With `false`, it is
   * a browser-session cookie unless the session opted in with `Session.rememberMe(true)`.
   */
  readonly persist?: boolean | undefined
}

/** The cookie options with every default filled in. @internal */
export interface ResolvedCookie {
  readonly name: string
  readonly domain: string | undefined
  readonly path: string
  readonly httpOnly: boolean
  readonly secure: boolean
  readonly sameSite: "lax" | "strict" | "none"
  readonly partitioned: boolean
  readonly persist: boolean
}

/** @internal */
export type ResolveResult =
  | { readonly _tag: "Ok"; readonly cookie: ResolvedCookie }
  | { readonly _tag: "Invalid"; readonly description: string }

/** RFC 6265's cookie-name (an RFC 7230 token). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * A `Domain` attribute browsers accept: a host name (labels of letters, digits and inner hyphens, optionally with a
 * leading dot, at most 253 characters) or an IPv4 address. Anything else (a `;`, a space, a port, a scheme) would
 * either inject attributes into `Set-Cookie` or make every response that sets the cookie fail.
 */
const DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** A `Path` attribute: starts with `/`, printable ASCII without `;` (RFC 6265 path-value), at most 1024 characters. */
const PATH = /^\/[\x20-\x3A\x3C-\x7E]{0,1023}$/

/**
 * Whether `name` carries a cookie prefix. Browsers match `__Host-` and `__Secure-` in any letter case (RFC 6265bis),
 * so `__HOST-s` is held to the same rules as `__Host-s`.
 */
const hasPrefix = (name: string, prefix: string): boolean =>
  name.length >= prefix.length && name.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()

const invalid = (description: string): ResolveResult => ({ _tag: "Invalid", description })

/**
 * Fills in the defaults and checks the rules browsers enforce by dropping the cookie: a valid name, the `__Host-`
 * and `__Secure-` prefixes, `SameSite=None` and `Partitioned` only with `Secure`. `Invalid` says what to change.
 *
 * @internal
 */
export const resolve = (options: CookieOptions = {}): ResolveResult => {
  const cookie: ResolvedCookie = {
    name: options.name ?? "session",
    domain: options.domain,
    path: options.path ?? "/",
    httpOnly: options.httpOnly ?? true,
    secure: options.secure ?? true,
    sameSite: options.sameSite ?? "lax",
    partitioned: options.partitioned ?? false,
    persist: options.persist ?? true
  }
  if (!COOKIE_NAME.test(cookie.name)) {
    return invalid(`cookie.name ${JSON.stringify(cookie.name)} is not a valid cookie name`)
  }
  if (cookie.domain !== undefined && (cookie.domain.length > 253 || !DOMAIN.test(cookie.domain))) {
    return invalid(`cookie.domain ${JSON.stringify(cookie.domain)} is not a host name (as in "example.com")`)
  }
  if (!PATH.test(cookie.path)) {
    return invalid(
      `cookie.path ${JSON.stringify(cookie.path)} must start with "/" and hold printable ASCII without ";" ` +
        "(at most 1024 characters)"
    )
  }
  if (hasPrefix(cookie.name, "__Host-")) {
    const problems = [
      cookie.secure ? undefined : "secure: true",
      cookie.path === "/" ? undefined : "path: \"/\"",
      cookie.domain === undefined ? undefined : "no domain"
    ].filter((p) => p !== undefined)
    if (problems.length > 0) {
      return invalid(
        `a cookie named "${cookie.name}" (prefix __Host-, matched in any letter case) requires ${
          problems.join(", ")
        }; browsers drop it otherwise`
      )
    }
  }
  if (hasPrefix(cookie.name, "__Secure-") && !cookie.secure) {
    return invalid(
      `a cookie named "${cookie.name}" (prefix __Secure-, matched in any letter case) requires secure: true`
    )
  }
  if (cookie.sameSite === "none" && !cookie.secure) {
    return invalid("cookie.sameSite \"none\" requires secure: true; browsers drop it otherwise")
  }
  if (cookie.partitioned && !cookie.secure) {
    return invalid("cookie.partitioned requires secure: true")
  }
  return { _tag: "Ok", cookie }
}

/**
 * The raw value of the first cookie named `name` in a `Cookie` header, without percent-decoding (a token is
 * base64url, so an encoded value is not a token). Browsers list the most specific cookie first.
 *
 * Linear in the header's length whatever it holds: the position of the next `=` is searched for only once it is
 * behind the current pair, so a header of 64 KiB of `;` costs one pass, not one pass per `;`.
 *
 * @internal
 */
export const read = (header: string | undefined, name: string): string | undefined => {
  if (header === undefined) return undefined
  let start = 0
  let eq = -2
  while (start < header.length) {
    if (eq !== -1 && eq < start) {
      eq = header.indexOf("=", start)
      // no "=" from here on: no pair left
      if (eq === -1) return undefined
    }
    let end = header.indexOf(";", start)
    if (end === -1) end = header.length
    if (eq < end && header.slice(start, eq).trim() === name) return header.slice(eq + 1, end).trim()
    start = end + 1
  }
  return undefined
}

/**
 * A cookie to set, in the shape both lines' `HttpServerResponse.setCookie` options take (a `maxAge` string is a
 * duration input of Effect 3 and Effect 4 alike).
 *
 * @internal
 */
export interface SetCookie {
  readonly name: string
  readonly value: string
  readonly options: {
    readonly domain?: string
    readonly path: string
    readonly httpOnly: boolean
    readonly secure: boolean
    readonly sameSite: "lax" | "strict" | "none"
    readonly partitioned: boolean
    readonly maxAge?: `${number} seconds`
    readonly expires?: Date
  }
}

const EPOCH = new Date(0)

/** The `Set-Cookie` a commit result asks for; `undefined` for `Unchanged`. @internal */
export const setCookie = (cookie: ResolvedCookie, result: CommitResult): SetCookie | undefined => {
  if (result._tag === "Unchanged") return undefined
  const base = {
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    partitioned: cookie.partitioned,
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain })
  }
  if (result._tag === "ExpireCookie") {
    return { name: cookie.name, value: "", options: { ...base, maxAge: "0 seconds", expires: EPOCH } }
  }
  return {
    name: cookie.name,
    value: result.token,
    options: {
      ...base,
      ...(result.maxAge === undefined ? {} : { maxAge: `${result.maxAge} seconds` as const }),
      ...(result.expires === undefined ? {} : { expires: result.expires })
    }
  }
}

/**
 * What a commit adds to a response, given the headers it has: `vary` (add `Cookie`: every response depends on the
 * session cookie) and `cacheControl` (`no-cache="Set-Cookie"` on responses that set the cookie, so shared caches
 * never store a response carrying someone's session cookie) are the new values to set, `undefined` to leave the
 * header as it is.
 *
 * @internal
 */
export interface ResponseChanges {
  readonly vary: string | undefined
  readonly setCookie: SetCookie | undefined
  readonly cacheControl: string | undefined
}

const VARIES_ON_COOKIE = /(^|,)\s*(cookie|\*)\s*(,|$)/i

/** @internal */
export const responseChanges = (
  cookie: ResolvedCookie,
  result: CommitResult,
  headers: { readonly vary: string | undefined; readonly cacheControl: string | undefined }
): ResponseChanges => {
  const vary = headers.vary === undefined
    ? "Cookie"
    : VARIES_ON_COOKIE.test(headers.vary)
    ? undefined
    : `${headers.vary}, Cookie`
  const set = setCookie(cookie, result)
  const cacheControl = set === undefined
    ? undefined
    : headers.cacheControl === undefined
    ? "no-cache=\"Set-Cookie\""
    : `${headers.cacheControl}, no-cache="Set-Cookie"`
  return { vary, setCookie: set, cacheControl }
}
