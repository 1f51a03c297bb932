/**
 * The HTTP load generator, in its own process (so that it never shares an event loop with a server), driven over
 * IPC by the HTTP-level sections (`lib/httpServers.ts`). Each request message runs one measurement and answers with
 * its numbers; `{ type: "exit" }` ends the process.
 *
 * - `load`: autocannon's programmatic API (throughput of one path).
 * - `bursts`: the conflict workload of issue 13 for `duration` seconds: each burst creates a session
 *   (`/set?k=start`), sends `writers` requests on it at once, each setting its own key (`/set?k=w<i>`), and then
 *   reads the session's keys (`/keys`): a key whose request was answered 200 but is missing is a lost write.
 */
import autocannon from "autocannon"

export interface LoadRequest {
  readonly type: "load"
  readonly id: number
  readonly url: string
  readonly connections: number
  /** Seconds. */
  readonly duration: number
  /** One `Cookie` header per connection (round robin); none when empty. */
  readonly cookies: ReadonlyArray<string>
  readonly expectBody?: string
}

export interface LoadResult {
  readonly id: number
  readonly requestsPerSec: number
  /** Milliseconds (autocannon's histogram has a 1 ms resolution). */
  readonly p50: number
  readonly p99: number
  readonly total: number
  readonly errors: number
  readonly non2xx: number
  readonly mismatches: number
  readonly seconds: number
}

export interface BurstRequest {
  readonly type: "bursts"
  readonly id: number
  /** The server, `http://127.0.0.1:port`. */
  readonly base: string
  /** Concurrent requests per burst. */
  readonly writers: number
  /** Seconds of bursts (at least 3 bursts). */
  readonly duration: number
}

export interface BurstResult {
  readonly id: number
  readonly bursts: number
  /** Writing requests answered 200 with the expected body. */
  readonly written: number
  /** Writing requests answered otherwise, or not at all. */
  readonly failed: number
  /** Keys of requests answered 200 that the session does not hold afterwards. */
  readonly lost: number
  /** Wall time of the bursts alone (no session creation, no check), milliseconds. */
  readonly burstMs: number
  /** Median and 99th percentile of one burst's wall time, milliseconds. */
  readonly p50: number
  readonly p99: number
  /** The first failure's status and body, for the log. */
  readonly firstFailure?: string | undefined
}

const fetchText = async (url: string, cookie?: string) => {
  const response = await fetch(url, cookie === undefined ? {} : { headers: { cookie } })
  return { status: response.status, body: await response.text(), setCookie: response.headers.getSetCookie()[0] }
}

const bursts = async (request: BurstRequest): Promise<BurstResult> => {
  const times: Array<number> = []
  let written = 0
  let failed = 0
  let lost = 0
  let firstFailure: string | undefined
  const end = performance.now() + request.duration * 1000
  while (times.length < 3 || performance.now() < end) {
    const created = await fetchText(`${request.base}/set?k=start`)
    if (created.status !== 200 || created.setCookie === undefined) {
      throw new Error(`/set without a session answered ${created.status} ${JSON.stringify(created.body)}`)
    }
    const cookie = created.setCookie.split(";")[0]!
    const t0 = performance.now()
    const answers = await Promise.all(
      Array.from({ length: request.writers }, (_, i) =>
        fetchText(`${request.base}/set?k=w${i}`, cookie).then(
          (answer) => answer.status === 200 && answer.body === "OK\n" ? undefined : `${answer.status} ${answer.body}`,
          (error) => String(error)
        ))
    )
    times.push(performance.now() - t0)
    const held = new Set((await fetchText(`${request.base}/keys`, cookie)).body.trim().split(","))
    answers.forEach((failure, i) => {
      if (failure !== undefined) {
        failed++
        firstFailure ??= failure
      } else {
        written++
        if (!held.has(`w${i}`)) lost++
      }
    })
  }
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return {
    id: request.id,
    bursts: times.length,
    written,
    failed,
    lost,
    burstMs: times.reduce((a, b) => a + b, 0),
    p50: at(0.5),
    p99: at(0.99),
    firstFailure
  }
}

const run = (request: LoadRequest): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    let connection = 0
    autocannon({
      url: request.url,
      connections: request.connections,
      duration: request.duration,
      ...(request.expectBody === undefined ? {} : { expectBody: request.expectBody }),
      setupClient: (client) => {
        if (request.cookies.length > 0) {
          client.setHeaders({ cookie: request.cookies[connection++ % request.cookies.length]! })
        }
      }
    }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error)
      resolve({
        id: request.id,
        requestsPerSec: result["2xx"] / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        total: result["2xx"],
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        mismatches: result.mismatches,
        seconds: result.duration
      })
    })
  })

process.on("message", (message: LoadRequest | BurstRequest | { readonly type: "exit" }) => {
  if (message.type === "exit") {
    process.disconnect()
    // fetch's kept-alive connections (bursts) would hold the process
    process.exit(0)
  }
  ;(message.type === "load" ? run(message) : bursts(message)).then(
    (result) => process.send!({ type: "result", result }),
    (error) => process.send!({ type: "error", id: message.id, error: String(error) })
  )
})
process.send!({ type: "ready" })
