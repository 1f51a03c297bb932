/**
 * What a request logs, with no Effect import: each line's `logging.test.ts` serves the app, collects the log lines
 * of its server into `lines` (a `Logger` that pushes into an array) and calls these.
 */
import assert from "node:assert/strict"
import { request } from "node:http"
import type { FetchJar, Reply } from "./jar.js"

/** One collected log line: its level (`"ERROR"`, `"WARN"`, ... in upper case) and its message parts joined. */
export interface LogLine {
  readonly level: string
  readonly message: string
}

/** A well-formed token no store holds. */
export const TOKEN = "A".repeat(43)

/** The lines one request logs (`lines` is emptied first). */
const linesOf = async (lines: Array<LogLine>, request: () => Promise<Reply>) => {
  lines.length = 0
  const reply = await request()
  // the server logs before it writes the response; give a late logger a moment all the same
  await new Promise((resolve) => setTimeout(resolve, 20))
  return { reply, logged: [...lines] }
}

const noToken = (logged: ReadonlyArray<LogLine>, token: string) => {
  for (const line of logged) assert.ok(!line.message.includes(token), `a log line holds the token: ${line.message}`)
}

/**
 * A store that fails every operation, a session with an idle timeout: `/read` reads the session and leaves the error
 * unhandled, `/set` writes it, `/none` never uses it (the commit would extend the idle timeout), `/handled` reads it
 * twice and handles the error. Each failing request logs exactly one line, at ERROR, without the token.
 */
export const outageLogsOnce = async (jar: FetchJar, lines: Array<LogLine>) => {
  const cookie = { cookie: `session=${TOKEN}` }
  for (
    const [path, status, withCookie] of [
      ["/read", 503, true],
      ["/set", 503, false],
      ["/none", 200, true],
      ["/handled", 200, true]
    ] as const
  ) {
    const { logged, reply } = await linesOf(lines, () => jar.fetch(path, withCookie ? cookie : {}))
    assert.equal(reply.status, status, path)
    assert.deepEqual(logged.map((l) => l.level), ["ERROR"], `${path} logs one line: ${JSON.stringify(logged)}`)
    assert.match(logged[0]!.message, /store/, path)
    noToken(logged, TOKEN)
  }
}

/**
 * A key's schema changed between two deploys: `/put` stores `"socks"` under `cart` with a string schema, `/get`
 * reads `cart` with a number schema and leaves the `Decode` error unhandled, `/lenient` reads it with
 * `onDecodeError: "absent"` and answers `absent` for `None`. Every adapter answers the unhandled error alike (an
 * empty 500) and logs it once, naming the key and never the token.
 */
export const schemaChangeAnswers = async (jar: FetchJar, lines: Array<LogLine>) => {
  const put = await jar.fetch("/put")
  assert.equal(put.status, 200)
  const token = jar.get("session")
  assert.ok(token !== undefined, "/put set the session cookie")

  const { logged, reply } = await linesOf(lines, () => jar.fetch("/get"))
  assert.equal(reply.status, 500, "an unhandled Decode error is not a store failure")
  assert.equal(reply.body, "", "nothing about the error reaches the client")
  assert.deepEqual(logged.map((l) => l.level), ["ERROR"], `/get logs one line: ${JSON.stringify(logged)}`)
  assert.match(logged[0]!.message, /Decode \(key "cart"\)/)
  noToken(logged, token)

  const lenient = await linesOf(lines, () => jar.fetch("/lenient"))
  assert.equal(lenient.reply.status, 200)
  assert.match(lenient.reply.body, /absent/, "an undecodable value reads as absent")
  assert.deepEqual(lenient.logged, [], "a value read as absent is not an error")
}

/** A GET through `node:http` (which, unlike `fetch`, sends the `Host` header it is given): status and `Set-Cookie`. */
const rawGet = (base: string, path: string, headers: Record<string, string>) =>
  new Promise<{ readonly status: number; readonly setCookies: ReadonlyArray<string> }>((resolve, reject) => {
    const req = request(base + path, { headers }, (res) => {
      res.resume()
      res.on("end", () => resolve({ status: res.statusCode ?? 0, setCookies: res.headers["set-cookie"] ?? [] }))
    })
    req.on("error", reject)
    req.end()
  })

const isSecure = (setCookie: string | undefined) => {
  assert.ok(setCookie !== undefined, "a cookie is set")
  return /;\s*Secure(;|$)/i.test(setCookie)
}

/**
 * `cookie.secure: "auto"` over plain HTTP (`/put` sets the session): no `Secure` attribute, unless the request says
 * `X-Forwarded-Proto: https` and the session options trust the proxy (`trustProxy`). Nothing is logged: the cookie
 * works over HTTP.
 */
export const secureAutoScenario = async (base: string, trustProxy: boolean, lines: Array<LogLine>) => {
  lines.length = 0
  const plain = await rawGet(base, "/put", { host: "example.com" })
  assert.equal(plain.status, 200)
  assert.equal(isSecure(plain.setCookies[0]), false, "plain HTTP: not Secure")
  const forwarded = await rawGet(base, "/put", { host: "example.com", "x-forwarded-proto": "https" })
  assert.equal(
    isSecure(forwarded.setCookies[0]),
    trustProxy,
    trustProxy ? "a trusted proxy says HTTPS: Secure" : "an untrusted X-Forwarded-Proto is ignored"
  )
  const chain = await rawGet(base, "/put", { host: "example.com", "x-forwarded-proto": "http, https" })
  assert.equal(isSecure(chain.setCookies[0]), false, "the client's protocol is the first one")
  assert.deepEqual(lines.filter((l) => l.level === "WARN" || l.level === "ERROR"), [])
}

/**
 * The default `secure: true` over plain HTTP: the cookie stays `Secure`; a request whose `Host` is not the local
 * machine logs one warning, once for the layer however many requests follow; `localhost`, `127.0.0.1` and `[::1]`
 * hosts (which browsers treat as secure) log none; nor does a request a trusted proxy says is HTTPS.
 */
export const insecureWarningScenario = async (base: string, trustProxy: boolean, lines: Array<LogLine>) => {
  lines.length = 0
  for (const host of ["localhost:8080", "127.0.0.1", "[::1]:3000", "LOCALHOST"]) {
    const reply = await rawGet(base, "/put", { host })
    assert.equal(isSecure(reply.setCookies[0]), true)
  }
  if (trustProxy) await rawGet(base, "/put", { host: "example.com", "x-forwarded-proto": "https" })
  assert.equal(lines.length, 0, `no warning for local hosts (nor a trusted HTTPS proxy): ${JSON.stringify(lines)}`)
  for (let i = 0; i < 3; i++) {
    const reply = await rawGet(base, "/put", { host: "example.com" })
    assert.equal(isSecure(reply.setCookies[0]), true, "secure: true stays the default")
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(lines.map((l) => l.level), ["WARN"], `one warning for the layer: ${JSON.stringify(lines)}`)
  assert.match(lines[0]!.message, /Secure.*plain-HTTP.*example\.com/)
}
