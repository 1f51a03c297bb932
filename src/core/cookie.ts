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
  /**
   * Default `true`: the cookie is only sent over HTTPS (browsers treat `localhost` as secure). `"auto"`: `Secure`
   * when the request came over HTTPS (a TLS connection, or `X-Forwarded-Proto: https` from a proxy trusted with
   * the session option `trustProxy: true`), as Express' `secure: "auto"`. Rules that require `secure` (the
   * `__Host-`/`__Secure-` prefixes, `sameSite: "none"`, `partitioned`) accept `"auto"`: over plain HTTP browsers
   * drop such a cookie whatever its attributes.
   */
  readonly secure?: boolean | "auto" | undefined
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
  readonly secure: boolean | "auto"
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

// ---------------------------------------------------------------------------------------------------------------
// is this request secure?

/** What an adapter knows of a request, for `security`. @internal */
export interface RequestFacts {
  /** Whether the connection itself is TLS (see `connectionIsTls`). */
  readonly tls: boolean
  /** The `X-Forwarded-Proto` header, if any. */
  readonly forwardedProto: string | undefined
  /** The `Host` header, if any. */
  readonly host: string | undefined
  /** The session option `trustProxy`: whether `X-Forwarded-Proto` is believed. */
  readonly trustProxy: boolean
}

/**
 * Whether the request came over HTTPS: its connection is TLS, or (only with `trustProxy`) the first protocol of
 * `X-Forwarded-Proto` (the one the client used, when proxies append theirs) is `https`. Without `trustProxy` the
 * header is ignored: any client can send it.
 *
 * @internal
 */
export const requestIsHttps = (facts: RequestFacts): boolean => {
  if (facts.tls) return true
  if (!facts.trustProxy || facts.forwardedProto === undefined) return false
  const first = facts.forwardedProto.split(",", 1)[0]!
  return first.trim().toLowerCase() === "https"
}

/**
 * Whether a `Host` header names the local machine as browsers' "potentially trustworthy" origins do: `localhost`,
 * `127.0.0.1` or `[::1]`, with or without a port, in any letter case. Browsers keep a `Secure` cookie set over
 * plain HTTP by such a host.
 *
 * @internal
 */
export const isLocalHost = (host: string | undefined): boolean => {
  if (host === undefined) return false
  const name = host.trim().toLowerCase().replace(/:\d*$/, "")
  return name === "localhost" || name === "127.0.0.1" || name === "[::1]"
}

/**
 * Whether a request's connection is TLS, from the platform's request object: a Node `IncomingMessage` (its
 * socket's `encrypted`), or a web `Request` (an `https:` URL). Anything else: `false`.
 *
 * @internal
 */
export const connectionIsTls = (source: unknown): boolean => {
  if (typeof source !== "object" || source === null) return false
  const socket = (source as { readonly socket?: { readonly encrypted?: unknown } }).socket
  if (typeof socket === "object" && socket !== null) return socket.encrypted === true
  const url = (source as { readonly url?: unknown }).url
  return typeof Request !== "undefined" && source instanceof Request && typeof url === "string" &&
    url.startsWith("https:")
}

/**
 * What the cookie's `Secure` attribute is for one request, and whether to warn: a `Secure` cookie set over a
 * request not known to be HTTPS, whose host is not the local machine, is dropped by browsers (the session silently
 * does not stick). `warn` is only the condition; the adapters log it once per layer.
 *
 * @internal
 */
export const security = (
  cookie: ResolvedCookie,
  facts: RequestFacts
): { readonly secure: boolean; readonly warn: boolean } => {
  const https = requestIsHttps(facts)
  const secure = cookie.secure === "auto" ? https : cookie.secure
  return { secure, warn: secure && !https && !isLocalHost(facts.host) }
}

/** The warning `security` asks for (no token, no cookie value). @internal */
export const insecureWarning = (cookie: ResolvedCookie, host: string | undefined): string =>
  `effect-session: the session cookie "${cookie.name}" is Secure but was set on a plain-HTTP request to ` +
  `${JSON.stringify(host ?? "")}: browsers drop it, so sessions do not stick. Serve HTTPS, set cookie.secure: ` +
  "\"auto\" (with trustProxy: true behind a proxy that sets X-Forwarded-Proto), or secure: false for local " +
  "development. This is logged once."

const warned = new WeakSet<object>()

/**
 * Whether this is the first warning for `owner` (a session layer's manager): `insecureWarning` is logged once per
 * layer, not once per request.
 *
 * @internal
 */
export const firstWarning = (owner: object): boolean => {
  if (warned.has(owner)) return false
  warned.add(owner)
  return true
}

// ---------------------------------------------------------------------------------------------------------------

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

/**
 * The `Set-Cookie` a commit result asks for; `undefined` for `Unchanged`. `secure`: the `Secure` attribute for this
 * request (see `security`; without it, `"auto"` counts as secure).
 *
 * @internal
 */
export const setCookie = (
  cookie: ResolvedCookie,
  result: CommitResult,
  secure: boolean = cookie.secure !== false
): SetCookie | undefined => {
  if (result._tag === "Unchanged") return undefined
  const base = {
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    secure,
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
  headers: { readonly vary: string | undefined; readonly cacheControl: string | undefined },
  secure: boolean = cookie.secure !== false
): ResponseChanges => {
  const vary = headers.vary === undefined
    ? "Cookie"
    : VARIES_ON_COOKIE.test(headers.vary)
    ? undefined
    : `${headers.vary}, Cookie`
  const set = setCookie(cookie, result, secure)
  const cacheControl = set === undefined
    ? undefined
    : headers.cacheControl === undefined
    ? "no-cache=\"Set-Cookie\""
    : `${headers.cacheControl}, no-cache="Set-Cookie"`
  return { vary, setCookie: set, cacheControl }
}
