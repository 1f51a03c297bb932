/**
 * The session cookie: option rules, reading the `Cookie` header, and what a commit adds to a response.
 */
import { assert, describe, it } from "vitest"
import {
  connectionIsTls,
  type CookieOptions,
  firstWarning,
  isLocalHost,
  read,
  type RequestFacts,
  requestIsHttps,
  resolve,
  type ResolvedCookie,
  responseChanges,
  security,
  setCookie
} from "../../src/core/cookie.js"

const resolved = (options?: CookieOptions): ResolvedCookie => {
  const result = resolve(options)
  if (result._tag === "Invalid") throw new Error(result.description)
  return result.cookie
}

const invalid = (options: CookieOptions): string => {
  const result = resolve(options)
  assert.strictEqual(result._tag, "Invalid", JSON.stringify(options))
  return result._tag === "Invalid" ? result.description : ""
}

describe("cookie options", () => {
  it("defaults: session, /, HttpOnly, Secure, Lax, not partitioned, persistent", () => {
    assert.deepStrictEqual(resolved(), {
      name: "session",
      domain: undefined,
      path: "/",
      httpOnly: true,
      secure: true,
      sameSite: "lax",
      partitioned: false,
      persist: true
    })
  })

  it("a cookie name must be an RFC 6265 token", () => {
    for (const name of ["", "a b", "a;b", "a=b", "sess\u00e9", "a,b", "\"q\""]) {
      assert.include(invalid({ name }), "is not a valid cookie name")
    }
    assert.strictEqual(resolved({ name: "my-app.sid_1" }).name, "my-app.sid_1")
  })

  it("__Host- requires secure, path / and no domain, and names every problem", () => {
    const description = invalid({ name: "__Host-s", secure: false, path: "/app", domain: "example.com" })
    assert.include(description, "secure: true")
    assert.include(description, "path: \"/\"")
    assert.include(description, "no domain")
    assert.notInclude(invalid({ name: "__Host-s", domain: "example.com" }), "secure: true")
    assert.strictEqual(resolved({ name: "__Host-s" }).name, "__Host-s")
  })

  it("__Secure- requires secure", () => {
    assert.include(invalid({ name: "__Secure-s", secure: false }), "__Secure-")
    assert.strictEqual(resolved({ name: "__Secure-s", domain: "example.com", path: "/app" }).path, "/app")
  })

  it("the prefixes are matched in any letter case, as browsers do", () => {
    assert.include(invalid({ name: "__HOST-s", domain: "example.com" }), "no domain")
    assert.include(invalid({ name: "__host-s", secure: false }), "secure: true")
    assert.include(invalid({ name: "__secure-s", secure: false }), "__Secure-")
    assert.include(invalid({ name: "__SECURE-s", secure: false }), "__Secure-")
    assert.strictEqual(resolved({ name: "__HOST-s" }).name, "__HOST-s")
  })

  it("a domain or path that is not one (attribute injection, a port, a scheme) is refused when resolved", () => {
    for (
      const domain of [
        "example.com; SameSite=None",
        "example.com:443",
        "https://example.com",
        "a b.com",
        "",
        "-x.com",
        "x..com",
        "é.com",
        "x".repeat(254)
      ]
    ) {
      assert.include(invalid({ domain }), "cookie.domain", domain)
    }
    for (const path of ["app", "/app; Domain=evil.com", "/a\nb", "/\u00e9", "/" + "a".repeat(1024)]) {
      assert.include(invalid({ path }), "cookie.path", path)
    }
    assert.strictEqual(resolved({ domain: "example.com" }).domain, "example.com")
    assert.strictEqual(resolved({ domain: ".sub.example-1.co.uk" }).domain, ".sub.example-1.co.uk")
    assert.strictEqual(resolved({ domain: "10.0.0.1" }).domain, "10.0.0.1")
    assert.strictEqual(resolved({ path: "/app/v1-x_y.z~%20" }).path, "/app/v1-x_y.z~%20")
  })

  it("SameSite=None and Partitioned require Secure", () => {
    assert.include(invalid({ sameSite: "none", secure: false }), "sameSite")
    assert.include(invalid({ partitioned: true, secure: false }), "partitioned")
    assert.strictEqual(resolved({ sameSite: "none", partitioned: true }).sameSite, "none")
    // without Secure, the other SameSite values are fine (plain HTTP in development)
    assert.isFalse(resolved({ secure: false, sameSite: "strict" }).secure)
  })
})

describe("reading the Cookie header", () => {
  it("finds the named cookie among others, trimmed, without percent-decoding", () => {
    assert.strictEqual(read("a=1; session=abc; b=2", "session"), "abc")
    assert.strictEqual(read("session=%41", "session"), "%41")
    assert.strictEqual(read("  session =  abc  ", "session"), "abc")
  })

  it("the first of duplicate cookies wins (browsers list the most specific first)", () => {
    assert.strictEqual(read("session=first; session=second", "session"), "first")
  })

  it("a missing header, a missing cookie, a cookie whose name only contains the name", () => {
    assert.isUndefined(read(undefined, "session"))
    assert.isUndefined(read("", "session"))
    assert.isUndefined(read("other=1", "session"))
    assert.isUndefined(read("mysession=1; session_x=2", "session"))
    assert.isUndefined(read("session", "session"), "no = sign: not a cookie pair")
  })

  it("an empty value is a value (the browser has the cookie)", () => {
    assert.strictEqual(read("session=", "session"), "")
    assert.strictEqual(read("session=; x=1", "session"), "")
  })

  it("reading is linear: 1 MiB of ';' or of '; a' pairs without the cookie is one pass", () => {
    const semicolons = ";".repeat(1 << 20)
    const pairs = "a=b;".repeat(1 << 18) + ";".repeat(1 << 19)
    const started = performance.now()
    for (let i = 0; i < 10; i++) {
      assert.isUndefined(read(semicolons, "session"))
      assert.isUndefined(read(pairs, "session"))
      assert.strictEqual(read(semicolons + "session=tok", "session"), "tok")
    }
    // quadratic reading took minutes for these; linear takes milliseconds (a generous bound, not a benchmark)
    assert.isBelow(performance.now() - started, 10_000)
  })

  it("a value may contain = (only the first one splits)", () => {
    assert.strictEqual(read("session=a=b", "session"), "a=b")
  })
})

describe("what a commit adds to the response", () => {
  const cookie = resolved({ domain: "example.test", path: "/app", sameSite: "strict" })
  const token = "T".repeat(43)
  const expires = new Date(86_400_000)

  it("Unchanged: only Vary: Cookie", () => {
    assert.deepStrictEqual(
      responseChanges(cookie, { _tag: "Unchanged" }, { vary: undefined, cacheControl: undefined }),
      {
        vary: "Cookie",
        setCookie: undefined,
        cacheControl: undefined
      }
    )
  })

  it("Vary: appended to what is there, left alone when it already covers Cookie or is *", () => {
    const vary = (current: string) =>
      responseChanges(cookie, { _tag: "Unchanged" }, { vary: current, cacheControl: undefined }).vary
    assert.strictEqual(vary("Accept-Encoding"), "Accept-Encoding, Cookie")
    assert.isUndefined(vary("cookie"))
    assert.isUndefined(vary("Accept, Cookie"))
    assert.isUndefined(vary("*"))
    assert.strictEqual(vary("X-Cookie-Id"), "X-Cookie-Id, Cookie")
  })

  it("SetCookie: the cookie's attributes, Max-Age and Expires, and no-cache=\"Set-Cookie\"", () => {
    const changes = responseChanges(cookie, { _tag: "SetCookie", token, maxAge: 86_400, expires }, {
      vary: undefined,
      cacheControl: "private"
    })
    assert.deepStrictEqual(changes.setCookie, {
      name: "session",
      value: token,
      options: {
        domain: "example.test",
        path: "/app",
        httpOnly: true,
        secure: true,
        sameSite: "strict",
        partitioned: false,
        maxAge: "86400 seconds",
        expires
      }
    })
    assert.strictEqual(changes.cacheControl, "private, no-cache=\"Set-Cookie\"")
  })

  it("a browser-session cookie carries neither Max-Age nor Expires; no domain when none is configured", () => {
    const set = setCookie(resolved(), { _tag: "SetCookie", token, maxAge: undefined, expires: undefined })
    assert.deepStrictEqual(set, {
      name: "session",
      value: token,
      options: { path: "/", httpOnly: true, secure: true, sameSite: "lax", partitioned: false }
    })
    assert.notProperty(set!.options, "domain")
    assert.notProperty(set!.options, "maxAge")
  })

  it("ExpireCookie: an empty value, Max-Age 0, Expires at the epoch, same attributes", () => {
    const changes = responseChanges(cookie, { _tag: "ExpireCookie" }, { vary: "Cookie", cacheControl: undefined })
    assert.isUndefined(changes.vary)
    assert.deepStrictEqual(changes.setCookie, {
      name: "session",
      value: "",
      options: {
        domain: "example.test",
        path: "/app",
        httpOnly: true,
        secure: true,
        sameSite: "strict",
        partitioned: false,
        maxAge: "0 seconds",
        expires: new Date(0)
      }
    })
    assert.strictEqual(changes.cacheControl, "no-cache=\"Set-Cookie\"")
  })
})

describe("is this request secure? (cookie.secure \"auto\", the plain-HTTP warning)", () => {
  const facts = (overrides: Partial<RequestFacts> = {}): RequestFacts => ({
    tls: false,
    forwardedProto: undefined,
    host: "example.com",
    trustProxy: false,
    ...overrides
  })

  it("a TLS connection is HTTPS; X-Forwarded-Proto counts only with trustProxy, and only its first protocol", () => {
    assert.isTrue(requestIsHttps(facts({ tls: true })))
    assert.isFalse(requestIsHttps(facts()))
    assert.isFalse(requestIsHttps(facts({ forwardedProto: "https" })), "any client can send the header")
    assert.isTrue(requestIsHttps(facts({ forwardedProto: "https", trustProxy: true })))
    assert.isTrue(requestIsHttps(facts({ forwardedProto: " HTTPS , http", trustProxy: true })))
    assert.isFalse(requestIsHttps(facts({ forwardedProto: "http, https", trustProxy: true })))
    assert.isFalse(requestIsHttps(facts({ forwardedProto: "", trustProxy: true })))
    assert.isFalse(requestIsHttps(facts({ trustProxy: true })))
  })

  it("local hosts: localhost, 127.0.0.1 and [::1], with a port, in any case; nothing else", () => {
    for (const host of ["localhost", "LocalHost:3000", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8443"]) {
      assert.isTrue(isLocalHost(host), host)
    }
    for (const host of [undefined, "", "example.com", "localhost.example.com", "127.0.0.2", "10.0.0.1:80", "::1"]) {
      assert.isFalse(isLocalHost(host), String(host))
    }
  })

  it("secure: \"auto\" follows the request; true and false do not; the warning only for Secure over remote HTTP", () => {
    const auto = resolved({ secure: "auto" })
    assert.deepStrictEqual(security(auto, facts()), { secure: false, warn: false })
    assert.deepStrictEqual(security(auto, facts({ tls: true })), { secure: true, warn: false })
    assert.deepStrictEqual(security(auto, facts({ forwardedProto: "https", trustProxy: true })), {
      secure: true,
      warn: false
    })
    const always = resolved()
    assert.deepStrictEqual(security(always, facts()), { secure: true, warn: true })
    assert.deepStrictEqual(security(always, facts({ host: "localhost:4000" })), { secure: true, warn: false })
    assert.deepStrictEqual(security(always, facts({ forwardedProto: "https" })), { secure: true, warn: true })
    assert.deepStrictEqual(security(always, facts({ tls: true })), { secure: true, warn: false })
    assert.deepStrictEqual(security(resolved({ secure: false }), facts()), { secure: false, warn: false })
  })

  it("\"auto\" satisfies the rules that require secure; Set-Cookie carries the request's Secure", () => {
    assert.strictEqual(resolved({ name: "__Host-s", secure: "auto" }).secure, "auto")
    assert.strictEqual(resolved({ sameSite: "none", secure: "auto" }).sameSite, "none")
    const result = { _tag: "SetCookie", token: "t", maxAge: undefined, expires: undefined } as const
    assert.isFalse(setCookie(resolved({ secure: "auto" }), result, false)!.options.secure)
    assert.isTrue(setCookie(resolved({ secure: "auto" }), result)!.options.secure, "without facts, auto is Secure")
  })

  it("connectionIsTls: a Node socket's encrypted flag, a web Request's https: URL", () => {
    assert.isTrue(connectionIsTls({ socket: { encrypted: true } }))
    assert.isFalse(connectionIsTls({ socket: {} }))
    assert.isTrue(connectionIsTls(new Request("https://example.com/")))
    assert.isFalse(connectionIsTls(new Request("http://example.com/")))
    assert.isFalse(connectionIsTls(undefined))
    assert.isFalse(connectionIsTls({ url: "https://example.com/" }), "a URL alone is not a connection")
  })

  it("firstWarning: once per owner", () => {
    const a = {}
    const b = {}
    assert.isTrue(firstWarning(a))
    assert.isFalse(firstWarning(a))
    assert.isTrue(firstWarning(b))
  })
})
