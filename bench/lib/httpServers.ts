/**
 * What the HTTP-level sections share: server processes (each server in its own process, polled on `/health` until
 * it answers), sessions created through `/put`, and the load generator process (`children/loader.ts`: autocannon
 * for throughput, bursts of concurrent requests on one session for the conflict workload), driven over IPC.
 */
import { type ChildProcess, fork, spawn } from "node:child_process"
import { freePort } from "../../test/helpers/exampleProcess.js"
import type { BurstRequest, BurstResult, LoadRequest, LoadResult } from "../children/loader.js"
import { benchPath, killOnExit, NODE_IMPORTS } from "./child.js"
import { median } from "./stats.js"
import { fmtLatency, fmtRange, fmtRate } from "./table.js"

/**
 * The cells every HTTP table starts a row with, from one server's rounds on one path: server, path, median req/s,
 * their range, median p50 and p99, and the count of bad answers (errors, non-2xx, wrong body).
 */
export const loadCells = (name: string, path: string, rounds: ReadonlyArray<LoadResult>): Array<string> => {
  const rates = rounds.map((r) => r.requestsPerSec)
  const bad = rounds.reduce((n, r) => n + r.errors + r.non2xx + r.mismatches, 0)
  return [
    name,
    path,
    fmtRate(median(rates)),
    fmtRange(rates),
    fmtLatency(median(rounds.map((r) => r.p50))),
    fmtLatency(median(rounds.map((r) => r.p99))),
    String(bad)
  ]
}

/** The progress line of one measurement: round, server (padded to `width`), path, req/s, p50, p99, bad answers. */
export const loadLine = (
  round: number,
  rounds: number,
  name: string,
  width: number,
  path: string,
  result: LoadResult
): string =>
  `  round ${round + 1}/${rounds} ${name.padEnd(width)} ${path} ${
    fmtRate(result.requestsPerSec).padStart(8)
  } req/s  p50 ${result.p50} ms  p99 ${result.p99} ms` +
  (result.errors + result.non2xx + result.mismatches > 0
    ? `  errors ${result.errors} non-2xx ${result.non2xx} wrong body ${result.mismatches}`
    : "")

/** How a server process starts: its Node, its arguments (imports and script), extra environment, folder. */
export interface Launch {
  readonly node: string
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly cwd?: string | undefined
}

export interface Running<S extends { readonly name: string }> {
  readonly spec: S
  readonly base: string
  readonly child: ChildProcess
  readonly output: () => string
  cookies: ReadonlyArray<string>
}

/** Starts a server process listening on a free port (`PORT`), and waits until `/health` answers. */
export const startServer = async <S extends { readonly name: string }>(
  spec: S,
  launch: Launch
): Promise<Running<S>> => {
  const port = await freePort()
  const child = spawn(launch.node, [...launch.args], {
    env: { ...process.env, ...launch.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    ...(launch.cwd === undefined ? {} : { cwd: launch.cwd })
  })
  killOnExit(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${spec.name} exited early:\n${output}`)
    try {
      const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`${spec.name} did not start:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { spec, base, child, output: () => output, cookies: [] }
}

/**
 * Starts every server, a few at a time (a dozen Node processes compiling TypeScript at once on a small machine
 * start slowly), and answers them in the order of `specs`. On a failure the servers already up are in `running`,
 * for the caller to stop.
 */
export const startServers = async <S extends { readonly name: string }>(
  specs: ReadonlyArray<S>,
  launch: (spec: S) => Launch,
  running: Array<Running<S>>,
  log: (line: string) => void,
  parallel = 3
): Promise<void> => {
  const queue = [...specs]
  const starter = async () => {
    for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) {
      try {
        const server = await startServer(spec, launch(spec))
        running.push(server)
        log(`  ${spec.name}: up at ${server.base}`)
      } catch (error) {
        queue.length = 0
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, starter))
  running.sort((a, b) => specs.indexOf(a.spec) - specs.indexOf(b.spec))
}

export const stopServer = (server: Running<{ readonly name: string }>): Promise<void> =>
  new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve()
    const timer = setTimeout(() => server.child.kill("SIGKILL"), 5000)
    server.child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    server.child.kill("SIGTERM")
  })

/** Creates one session per connection with `/put` and checks that `/get` reads it back. */
export const createSessions = async (
  server: Running<{ readonly name: string }>,
  count: number
): Promise<ReadonlyArray<string>> => {
  const cookies: Array<string> = []
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${server.base}/put`)
    const setCookie = response.headers.getSetCookie()[0]
    await response.text()
    if (!response.ok || setCookie === undefined) {
      throw new Error(`${server.spec.name}: /put answered ${response.status} without a cookie\n${server.output()}`)
    }
    cookies.push(setCookie.split(";")[0]!)
  }
  const check = await fetch(`${server.base}/get`, { headers: { cookie: cookies[0]! } })
  const body = await check.text()
  if (body !== "Hello world!\n") throw new Error(`${server.spec.name}: /get answered ${JSON.stringify(body)}`)
  return cookies
}

/** The load generator process. */
export class Loader {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (r: any) => void; reject: (e: Error) => void }>()
  private constructor(private readonly child: ChildProcess) {
    child.on(
      "message",
      (message: { type: string; result?: LoadResult | BurstResult; id?: number; error?: string }) => {
        if (message.type === "result") {
          this.waiting.get(message.result!.id)?.resolve(message.result!)
          this.waiting.delete(message.result!.id)
        } else if (message.type === "error") {
          this.waiting.get(message.id!)?.reject(new Error(message.error))
          this.waiting.delete(message.id!)
        }
      }
    )
    child.once("exit", () => {
      for (const { reject } of this.waiting.values()) reject(new Error("the load generator exited"))
      this.waiting.clear()
    })
  }

  static start(): Promise<Loader> {
    return new Promise((resolve, reject) => {
      const child = fork(benchPath("children/loader.ts"), [], {
        execArgv: [...NODE_IMPORTS],
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      killOnExit(child)
      child.once("message", () => resolve(new Loader(child)))
      child.once("exit", (code) => reject(new Error(`the load generator exited with ${code}`)))
    })
  }

  private send<A>(request: Record<string, unknown>): Promise<A> {
    const id = this.next++
    return new Promise<A>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.child.send({ ...request, id })
    })
  }

  /** One autocannon measurement. */
  load(request: Omit<LoadRequest, "type" | "id">): Promise<LoadResult> {
    return this.send({ ...request, type: "load" })
  }

  /** Bursts of concurrent requests on one session each (the conflict workload). */
  bursts(request: Omit<BurstRequest, "type" | "id">): Promise<BurstResult> {
    return this.send({ ...request, type: "bursts" })
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve()
      this.child.once("exit", () => resolve())
      this.child.send({ type: "exit" })
      setTimeout(() => this.child.kill("SIGKILL"), 5000).unref()
    })
  }
}
