/**
 * The HTTP load generator, in its own process (so that it never shares an event loop with a server): autocannon's
 * programmatic API, driven over IPC by the HTTP section. Each request message runs one autocannon measurement and
 * answers with its numbers; `{ type: "exit" }` ends the process.
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

process.on("message", (message: LoadRequest | { readonly type: "exit" }) => {
  if (message.type === "exit") {
    process.disconnect()
    return
  }
  run(message).then(
    (result) => process.send!({ type: "result", result }),
    (error) => process.send!({ type: "error", id: message.id, error: String(error) })
  )
})
process.send!({ type: "ready" })
