/**
 * Section 2, HTTP level: `/get` (read an existing session) and `/put` (write it) against our example app on each
 * engine, the same Effect app without sessions, and express + express-session with the matching stores.
 *
 * Every server runs in its own process (`bench/servers/*.ts`), and the load comes from another one
 * (`bench/children/loader.ts`, autocannon): 50 connections, each with its own session cookie, a fixed duration.
 * Every server is warmed up first, then the rounds measure the servers in alternation (each round starts from a
 * different server), so drift of the machine hits all of them alike.
 */
import { type ChildProcess, fork, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { RedisServer } from "../../test/helpers/redis.js"
import type { LoadRequest, LoadResult } from "../children/loader.js"
import { benchPath, killOnExit, NODE_IMPORTS } from "../lib/child.js"
import { max, median, min } from "../lib/stats.js"
import { atLeast, checkCells, fmtLatency, fmtRange, fmtRate, makeTable, type Table, type Target } from "../lib/table.js"

export interface HttpSettings {
  readonly connections: number
  /** Seconds per measurement. */
  readonly duration: number
  /** Seconds of warm-up per server and path (0: none, for the smoke run). */
  readonly warmup: number
  readonly rounds: number
  readonly log: (line: string) => void
}

interface ServerSpec {
  readonly name: string
  readonly script: "effect.ts" | "express.ts"
  readonly env: (ctx: Context) => Record<string, string>
}

interface Context {
  readonly dir: string
  readonly redisUrl: string
}

export const servers = {
  effectMemory: "Effect app + MemStore",
  effectFile: "Effect app + FileStore (everysec)",
  effectRedis: "Effect app + RedisStore",
  effectPlain: "Effect app, no sessions",
  expressMemory: "express-session + memorystore",
  expressFile: "express-session + session-file-store",
  expressRedis: "express-session + connect-redis"
} as const

const SPECS: ReadonlyArray<ServerSpec> = [
  { name: servers.effectMemory, script: "effect.ts", env: () => ({ SESSION_STORE: "memory" }) },
  {
    name: servers.effectFile,
    script: "effect.ts",
    env: (ctx) => ({
      SESSION_STORE: "file",
      SESSION_SYNC: "everysec",
      SESSION_FILE: Path.join(ctx.dir, "effect", "sessions.log")
    })
  },
  {
    name: servers.effectRedis,
    script: "effect.ts",
    env: (ctx) => ({ SESSION_STORE: "redis", REDIS_URL: ctx.redisUrl, SESSION_PREFIX: "bench-http-effect:" })
  },
  { name: servers.effectPlain, script: "effect.ts", env: () => ({ BENCH_MODE: "plain" }) },
  { name: servers.expressMemory, script: "express.ts", env: () => ({ BENCH_STORE: "memorystore" }) },
  {
    name: servers.expressFile,
    script: "express.ts",
    env: (ctx) => ({ BENCH_STORE: "file", SESSION_DIR: Path.join(ctx.dir, "express") })
  },
  {
    name: servers.expressRedis,
    script: "express.ts",
    env: (ctx) => ({ BENCH_STORE: "redis", REDIS_URL: ctx.redisUrl })
  }
]

/** Each engine's checks: `/get` against the express stack with the matching store, and against no sessions. */
const COMPARISONS: ReadonlyArray<{ readonly server: string; readonly against: string; readonly get?: Target }> = [
  { server: servers.effectMemory, against: servers.expressMemory, get: atLeast(2) },
  { server: servers.effectMemory, against: servers.effectPlain, get: atLeast(0.85) },
  { server: servers.effectFile, against: servers.expressFile, get: atLeast(2) },
  { server: servers.effectFile, against: servers.effectPlain, get: atLeast(0.85) },
  { server: servers.effectRedis, against: servers.expressRedis, get: atLeast(2) },
  { server: servers.effectRedis, against: servers.effectPlain, get: atLeast(0.85) }
]

const PATHS = ["/get", "/put"] as const

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

interface Running {
  readonly spec: ServerSpec
  readonly base: string
  readonly child: ChildProcess
  readonly output: () => string
  cookies: ReadonlyArray<string>
}

const startServer = async (spec: ServerSpec, ctx: Context): Promise<Running> => {
  const port = await freePort()
  const child = spawn(process.execPath, [...NODE_IMPORTS, benchPath(`servers/${spec.script}`)], {
    env: { ...process.env, ...spec.env(ctx), PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  killOnExit(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
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

const stopServer = (server: Running): Promise<void> =>
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
const createSessions = async (server: Running, count: number): Promise<ReadonlyArray<string>> => {
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
class Loader {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>()
  private constructor(private readonly child: ChildProcess) {
    child.on("message", (message: { type: string; result?: LoadResult; id?: number; error?: string }) => {
      if (message.type === "result") {
        this.waiting.get(message.result!.id)?.resolve(message.result!)
        this.waiting.delete(message.result!.id)
      } else if (message.type === "error") {
        this.waiting.get(message.id!)?.reject(new Error(message.error))
        this.waiting.delete(message.id!)
      }
    })
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

  load(request: Omit<LoadRequest, "type" | "id">): Promise<LoadResult> {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.child.send({ ...request, type: "load", id })
    })
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

export const runHttp = async (settings: HttpSettings): Promise<Table> => {
  const { log } = settings
  const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-http-"))
  const { mkdir } = await import("node:fs/promises")
  await mkdir(Path.join(dir, "effect"))
  await mkdir(Path.join(dir, "express"))
  const redis = await RedisServer.start()
  const running: Array<Running> = []
  let loader: Loader | undefined
  try {
    const ctx: Context = { dir, redisUrl: redis.url }
    log(`  starting ${SPECS.length} servers and the load generator`)
    running.push(
      ...(await Promise.all(SPECS.map((spec) =>
        startServer(spec, ctx).then((server) => {
          log(`  ${spec.name}: up at ${server.base}`)
          return server
        })
      )))
    )
    loader = await Loader.start()
    log(`  creating ${settings.connections} sessions per server`)
    for (const server of running) {
      server.cookies = server.spec.name === servers.effectPlain
        ? []
        : await createSessions(server, settings.connections)
    }
    const measure = (server: Running, path: string, duration: number) =>
      loader!.load({
        url: server.base + path,
        connections: settings.connections,
        duration,
        cookies: server.cookies,
        expectBody: path === "/get" ? "Hello world!\n" : "OK\n"
      })
    if (settings.warmup > 0) {
      log(`  warm-up: ${settings.warmup} s per server and path`)
      for (const server of running) {
        for (const path of PATHS) await measure(server, path, settings.warmup)
      }
    }
    const results = new Map<string, Array<LoadResult>>()
    for (let round = 0; round < settings.rounds; round++) {
      for (let j = 0; j < running.length; j++) {
        const server = running[(j + round) % running.length]!
        for (const path of PATHS) {
          const result = await measure(server, path, settings.duration)
          const key = `${server.spec.name} ${path}`
          results.set(key, [...(results.get(key) ?? []), result])
          log(
            `  round ${round + 1}/${settings.rounds} ${server.spec.name.padEnd(38)} ${path} ${
              fmtRate(result.requestsPerSec).padStart(8)
            } req/s  p50 ${result.p50} ms  p99 ${result.p99} ms` +
              (result.errors + result.non2xx + result.mismatches > 0
                ? `  errors ${result.errors} non-2xx ${result.non2xx} wrong body ${result.mismatches}`
                : "")
          )
        }
      }
    }
    return httpTable(results, settings)
  } finally {
    await loader?.stop()
    await Promise.all(running.map(stopServer))
    await redis.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

const HTTP_COLUMNS = ["server", "path", "req/s (median)", "range", "p50", "p99", "errors", "ratio", "target", "result"]

export const httpTable = (results: ReadonlyMap<string, ReadonlyArray<LoadResult>>, settings: HttpSettings): Table => {
  const table = makeTable(
    `2. HTTP level: ${settings.connections} connections, ${settings.duration} s per measurement, ${settings.rounds} round${
      settings.rounds === 1 ? "" : "s"
    } in alternation (req/s of 2xx answers with the expected body)`,
    HTTP_COLUMNS
  )
  for (const spec of SPECS) {
    for (const path of PATHS) {
      const rounds = results.get(`${spec.name} ${path}`) ?? []
      const rates = rounds.map((r) => r.requestsPerSec)
      const bad = rounds.reduce((n, r) => n + r.errors + r.non2xx + r.mismatches, 0)
      const measured = [
        spec.name,
        path,
        fmtRate(median(rates)),
        fmtRange(rates),
        fmtLatency(median(rounds.map((r) => r.p50))),
        fmtLatency(median(rounds.map((r) => r.p99))),
        String(bad)
      ]
      const mine = COMPARISONS.filter((c) => c.server === spec.name)
      if (mine.length === 0) table.rows.push([...measured, "", "", ""])
      mine.forEach((c, i) => {
        const other = results.get(`${c.against} ${path}`) ?? []
        const ratios = rounds.map((r, round) => r.requestsPerSec / (other[round]?.requestsPerSec ?? Number.NaN))
        const target = path === "/get" ? c.get : undefined
        const cells = checkCells("HTTP", `${spec.name} ${path}`, ratios, c.against, target)
        table.rows.push([...(i === 0 ? measured : measured.map(() => "")), ...cells])
      })
    }
  }
  const all = [...results.values()].flat()
  table.notes.push(
    `Latencies from autocannon (1 ms resolution). Spread of all measurements: ${
      fmtRate(min(all.map((r) => r.requestsPerSec)))
    }–${fmtRate(max(all.map((r) => r.requestsPerSec)))} req/s.`,
    "Effect servers: `examples/basic.ts`'s `app` with `Session.layer()` defaults (24 h lifetime, token hashed in the store) on the engine `examples/store.ts` builds; no request logger.",
    "express servers: express 5 + express-session (resave: false, saveUninitialized: false, cookie maxAge 24 h); `/put` also increments a counter so that every `/put` really writes (express-session skips unchanged sessions); `/get` touches the store entry (express-session's default with these stores).",
    "One private redis-server (persistence off) serves both Redis stacks; the machine's cores are shared by the server under test, the load generator and Redis."
  )
  return table
}
