/**
 * The session behaviour suite (SCS's session tests, re-done through a real HTTP server), as scenarios with no
 * Effect import: each line's `sessionSuite.ts` serves its routes (`/put`, `/get`, ... one per session operation) on
 * a real `NodeHttpServer` and runs every scenario against every engine.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import * as Codec from "../../src/core/codec.js"
import type { FetchJar } from "./jar.js"

/** What a scenario can do besides HTTP requests, provided by the line's shell. */
export interface Harness {
  /** A cookie jar pointed at the server. */
  readonly jar: FetchJar
  /** Moves the server's `TestClock` forward (`"59 minutes"`). */
  readonly adjust: (duration: string) => Promise<void>
  /** Whether the engine holds a live session under `key` (a raw `Store.find`, below the session layer). */
  readonly stored: (key: string) => Promise<boolean>
  /** How many store operations reached the engine so far. */
  readonly calls: { readonly find: number; readonly save: number; readonly touch: number; readonly delete: number }
}

/** Whether stored bytes are a session (not a renew's marker, which only points to the renewed session). */
export const isSession = (data: Uint8Array): boolean => Codec.decode(data)._tag === "Ok"

export interface Scenario {
  readonly name: string
  /** `security` scenarios are grouped under a describe of that name. */
  readonly group?: "security"
  /** Session options for this scenario, on top of `{ cookie: { secure: true } }` (both lines accept this shape). */
  readonly options?: Record<string, unknown>
  readonly timeout?: number
  /**
   * `"test"` (the default): the server runs on a `TestClock`, which `adjust` moves. `"test-engine-expiry"`: the
   * same, but the scenario moves the clock past an expiry only the engine keeps (an idle timeout, which a touch
   * moves without rewriting the record): engines whose backend expires keys on its own clock (Redis) cannot
   * follow a `TestClock` there and skip it; the `"live"` scenario shows the same behaviour on the wall clock.
   * `"live"`: the wall clock (`adjust` is not available).
   */
  readonly clock?: "test" | "test-engine-expiry" | "live"
  readonly run: (h: Harness) => Promise<void>
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

const TOKEN = /^[A-Za-z0-9_-]{43}$/
const sha = (token: string) => createHash("sha256").update(token).digest("base64url")
const issued = (setCookie: string) => setCookie.match(/^session=([^;]+)/)![1]!

export const sessionScenarios: ReadonlyArray<Scenario> = [
  {
    name: "the first /put sets the cookie, /get reads it with no Set-Cookie, another /put keeps the token",
    run: async ({ jar }) => {
      const put = await jar.fetch("/put")
      assert.equal(put.status, 200)
      assert.equal(put.setCookies.length, 1)
      assert.match(
        put.setCookies[0]!,
        /^session=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; Expires=[^;]+ GMT; HttpOnly; Secure; SameSite=Lax$/
      )
      assert.equal(put.headers.get("vary"), "Cookie")
      assert.equal(put.headers.get("cache-control"), "no-cache=\"Set-Cookie\"")
      const token = jar.get("session")!
      const get = await jar.fetch("/get")
      assert.equal(get.body, "Hello world!")
      assert.deepEqual(get.setCookies, [])
      assert.equal(get.headers.get("vary"), "Cookie")
      assert.equal(get.headers.get("cache-control"), null)
      await jar.fetch("/put?value=again")
      assert.equal(jar.get("session"), token)
      assert.equal((await jar.fetch("/get")).body, "again")
    }
  },
  {
    name: "a request that never touches the session does no store I/O and sets no cookie",
    run: async ({ calls, jar }) => {
      await jar.fetch("/put")
      const before = { ...calls }
      const none = await jar.fetch("/none")
      assert.equal(none.body, "no session here")
      assert.deepEqual(none.setCookies, [])
      assert.equal(none.headers.get("vary"), "Cookie")
      assert.deepEqual({ ...calls }, before)
    }
  },
  {
    name: "lifetime: the session ends at its absolute deadline, even when used (TestClock)",
    options: { lifetime: "1 hour" },
    run: async ({ adjust, jar }) => {
      await jar.fetch("/put")
      await adjust("59 minutes")
      assert.equal((await jar.fetch("/get")).body, "Hello world!")
      await adjust("1 minute")
      assert.equal((await jar.fetch("/get")).body, "")
    }
  },
  {
    name: "idle timeout: each request extends the session; it ends after that long without one",
    clock: "test-engine-expiry",
    options: { lifetime: "1 day", idleTimeout: "20 minutes" },
    run: async ({ adjust, jar }) => {
      await jar.fetch("/put")
      for (let i = 0; i < 4; i++) {
        await adjust("19 minutes")
        // /none does not touch the session, but a request carrying its cookie still counts as activity
        const reply = await jar.fetch(i % 2 === 0 ? "/none" : "/get")
        assert.equal(reply.setCookies.length, 1, "the extension refreshes the cookie")
        assert.match(reply.setCookies[0]!, /Max-Age=1200;/)
      }
      assert.equal((await jar.fetch("/get")).body, "Hello world!")
      await adjust("20 minutes")
      assert.equal((await jar.fetch("/get")).body, "")
    }
  },
  {
    name: "the idle timeout never extends a session past its absolute deadline",
    clock: "test-engine-expiry",
    options: { lifetime: "1 hour", idleTimeout: "20 minutes" },
    run: async ({ adjust, jar }) => {
      await jar.fetch("/put")
      for (let i = 0; i < 2; i++) {
        await adjust("19 minutes")
        await jar.fetch("/get")
      }
      await adjust("19 minutes")
      const reply = await jar.fetch("/get")
      assert.equal(reply.body, "Hello world!")
      assert.match(reply.setCookies[0]!, /Max-Age=180;/, "3 minutes left before the absolute deadline")
      await adjust("3 minutes")
      assert.equal((await jar.fetch("/get")).body, "")
    }
  },
  {
    name: "idle timeout on the wall clock: requests extend the session (at most once per touchAfter); idle, it ends",
    clock: "live",
    options: { lifetime: "1 day", idleTimeout: "2 seconds", touchAfter: "500 millis" },
    timeout: 20_000,
    run: async ({ jar }) => {
      await jar.fetch("/put")
      for (let i = 0; i < 3; i++) {
        await sleep(1000)
        const reply = await jar.fetch(i % 2 === 0 ? "/none" : "/get")
        assert.equal(reply.setCookies.length, 1, "the extension refreshes the cookie")
        assert.match(reply.setCookies[0]!, /Max-Age=2;/)
        // within touchAfter of that extension: no store write, no cookie
        assert.deepEqual((await jar.fetch("/none")).setCookies, [])
      }
      // 3 s after the put, alive only because the requests extended it
      assert.equal((await jar.fetch("/get")).body, "Hello world!")
      await sleep(2500)
      assert.equal((await jar.fetch("/get")).body, "")
    }
  },
  {
    name: "destroy: the deletion cookie has the exact attributes, and the data is gone",
    options: { cookie: { domain: "example.test", path: "/app", sameSite: "strict" } },
    run: async ({ jar, stored }) => {
      await jar.fetch("/put")
      const old = jar.get("session")!
      const destroyed = await jar.fetch("/destroy")
      assert.deepEqual(destroyed.setCookies, [
        "session=; Max-Age=0; Domain=example.test; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict"
      ])
      assert.equal(destroyed.headers.get("cache-control"), "no-cache=\"Set-Cookie\"")
      assert.equal((await jar.fetch("/get", { cookie: `session=${old}` })).body, "")
      assert.equal(await stored(sha(old)), false)
    }
  },
  {
    name: "destroy on a request without a session cookie sends no deletion cookie (no cross-site logout)",
    run: async ({ jar }) => {
      await jar.fetch("/put")
      // what a cross-site form POST looks like: SameSite=Lax keeps the cookie out of the request
      const crossSite = await jar.fetch("/destroy", { cookie: "" })
      assert.deepEqual(crossSite.setCookies, [])
      assert.equal((await jar.fetch("/get")).body, "Hello world!")
      // a malformed cookie is still the browser's session cookie: destroy expires it
      const malformed = await jar.fetch("/destroy", { cookie: "session=garbage" })
      assert.match(malformed.setCookies[0]!, /^session=; Max-Age=0;/)
    }
  },
  {
    name: "a set after destroy in the same request starts a fresh session with a new token",
    run: async ({ jar }) => {
      await jar.fetch("/put")
      const old = jar.get("session")!
      const flow = await jar.fetch("/status-flow")
      assert.equal(flow.body, "unmodified,unmodified,modified,destroyed,modified")
      const fresh = jar.get("session")!
      assert.notEqual(fresh, old)
      assert.match(fresh, TOKEN)
      assert.equal((await jar.fetch("/get")).body, "after destroy")
      assert.equal((await jar.fetch("/get", { cookie: `session=${old}` })).body, "")
    }
  },
  {
    name: "renew: a new token, the data kept, and the old token finds nothing",
    run: async ({ jar, stored }) => {
      await jar.fetch("/put?value=before-login")
      const old = jar.get("session")!
      const renewed = await jar.fetch("/renew")
      assert.equal(renewed.setCookies.length, 1)
      const fresh = jar.get("session")!
      assert.notEqual(fresh, old)
      assert.equal((await jar.fetch("/get")).body, "before-login")
      assert.equal((await jar.fetch("/get", { cookie: `session=${old}` })).body, "")
      assert.equal(await stored(sha(old)), false)
    }
  },
  {
    name: "renew resets the absolute deadline",
    options: { lifetime: "1 hour" },
    run: async ({ adjust, jar }) => {
      await jar.fetch("/put")
      await adjust("50 minutes")
      await jar.fetch("/renew")
      await adjust("50 minutes")
      assert.equal((await jar.fetch("/get")).body, "Hello world!")
    }
  },
  {
    name: "persist: false gives a browser-session cookie until rememberMe(true)",
    options: { cookie: { persist: false } },
    run: async ({ jar }) => {
      const put = await jar.fetch("/put")
      assert.match(put.setCookies[0]!, /^session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
      const remembered = await jar.fetch("/remember?on=1")
      assert.match(remembered.setCookies[0]!, /; Max-Age=86400; Path=\/; Expires=/)
      // and it stays persistent on later writes
      const again = await jar.fetch("/put?value=x")
      assert.match(again.setCookies[0]!, /; Max-Age=\d+; /)
      const forgotten = await jar.fetch("/remember?on=0")
      assert.doesNotMatch(forgotten.setCookies[0]!, /Max-Age|Expires/)
    }
  },
  {
    name: "keys are sorted; pop returns and removes; clear empties the session",
    run: async ({ jar }) => {
      await jar.fetch("/put")
      await jar.fetch("/put-many")
      assert.equal((await jar.fetch("/keys")).body, "a,b,c,message")
      assert.equal((await jar.fetch("/pop")).body, "Hello world!")
      assert.equal((await jar.fetch("/pop")).body, "(none)")
      assert.equal((await jar.fetch("/keys")).body, "a,b,c")
      const cleared = await jar.fetch("/clear")
      assert.equal(cleared.setCookies.length, 1)
      assert.equal((await jar.fetch("/keys")).body, "")
    }
  },
  {
    name: "the session is committed even when the handler fails",
    run: async ({ jar }) => {
      const failed = await jar.fetch("/fail-after-set")
      assert.equal(failed.status, 500)
      assert.equal(failed.setCookies.length, 1)
      assert.equal(failed.headers.get("vary"), "Cookie")
      assert.equal((await jar.fetch("/get")).body, "set before failing")
    }
  },
  {
    name: "a deadline moved to now ends the session with a deletion cookie",
    run: async ({ jar, stored }) => {
      await jar.fetch("/put")
      const old = jar.get("session")!
      const reply = await jar.fetch("/expire-now")
      assert.match(reply.setCookies[0]!, /^session=; Max-Age=0;/)
      assert.equal(await stored(sha(old)), false)
    }
  },
  {
    name: "a stored value that fails its key's schema is a typed error naming the key",
    run: async ({ jar }) => {
      await jar.fetch("/put?value=not-a-number")
      const reply = await jar.fetch("/strict")
      assert.equal(reply.status, 500)
      assert.equal(reply.body, "SessionError:Decode:message")
      await jar.fetch("/put?value=42")
      assert.equal((await jar.fetch("/strict")).body, "42")
    }
  },
  {
    name: "token is none until committed, then the cookie's token",
    run: async ({ jar }) => {
      assert.equal((await jar.fetch("/token")).body, "none")
      await jar.fetch("/put")
      assert.equal((await jar.fetch("/token")).body, jar.get("session"))
    }
  },
  {
    name: "an unknown, well-formed token is never adopted (no fixation)",
    group: "security",
    run: async ({ jar, stored }) => {
      const planted = "A".repeat(43)
      const reply = await jar.fetch("/put", { cookie: `session=${planted}` })
      const token = issued(reply.setCookies[0]!)
      assert.notEqual(token, planted)
      assert.match(token, TOKEN)
      assert.equal(await stored(sha(planted)), false)
      assert.equal(await stored(planted), false)
    }
  },
  {
    name: "malformed cookies never reach the store and never error",
    group: "security",
    run: async ({ calls, jar }) => {
      const malformed = [
        "A".repeat(42),
        "A".repeat(44),
        "A".repeat(42) + "=",
        "A".repeat(42) + "+",
        "A".repeat(42) + "/",
        "%41".repeat(43),
        "x".repeat(10 * 1024),
        "",
        "\"" + "A".repeat(41) + "\""
      ]
      for (const value of malformed) {
        const reply = await jar.fetch("/get", { cookie: `session=${value}` })
        assert.equal(reply.status, 200)
        assert.equal(reply.body, "")
      }
      assert.equal(calls.find, 0)
    }
  },
  {
    name: "the raw store holds the token's hash, never the cookie token",
    group: "security",
    run: async ({ jar, stored }) => {
      await jar.fetch("/put")
      const token = jar.get("session")!
      assert.equal(await stored(token), false)
      assert.equal(await stored(sha(token)), true)
    }
  },
  {
    name: "with hashTokenInStore: false the store key is the token itself",
    group: "security",
    options: { hashTokenInStore: false },
    run: async ({ jar, stored }) => {
      await jar.fetch("/put")
      assert.equal(await stored(jar.get("session")!), true)
    }
  },
  {
    name: "tokens are 43 base64url characters and 1,000 of them are distinct",
    group: "security",
    timeout: 60_000,
    run: async ({ jar }) => {
      const tokens = new Set<string>()
      let next = 0
      const worker = async () => {
        while (next++ < 1000) {
          const token = issued((await jar.fetch("/put", { cookie: "" })).setCookies[0]!)
          assert.match(token, TOKEN)
          tokens.add(token)
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
      assert.equal(tokens.size, 1000)
    }
  }
]
