/**
 * Section 2, HTTP level: `/get` (read an existing session) and `/put` (write it) against our example app on each
 * engine, the same Effect app without sessions, and express + express-session with the matching stores; each of
 * the two lines (the Effect 3 servers on this Node, the Effect 4 servers from `packages/effect4/bench/servers/` on
 * Node 22) against the same express servers, in the same rounds.
 *
 * Every server runs in its own process (`bench/servers/*.ts`), and the load comes from another one
 * (`bench/children/loader.ts`, autocannon): 50 connections, each with its own session cookie, a fixed duration.
 * Every server is warmed up first, then the rounds measure the servers in alternation (each round starts from a
 * different server), so drift of the machine hits all of them alike.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { RedisServer } from "../../test/helpers/redis.js"
import type { LoadResult } from "../children/loader.js"
import { type Line, NODE_IMPORTS, nodeFor, scriptPath } from "../lib/child.js"
import {
  createSessions,
  type Launch,
  loadCells,
  Loader,
  loadLine,
  type Running,
  startServers,
  stopServer
} from "../lib/httpServers.js"
import { max, min } from "../lib/stats.js"
import { atLeast, checkCells, fmtRate, makeTable, type Table, type Target } from "../lib/table.js"
import type { Effect4Engine } from "../store/groups.js"
import { type Effect4Run, linesNote } from "./store.js"

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
  /** `servers/<script>` of the line (express servers: 3, they run on the benchmark's Node like the peers elsewhere). */
  readonly script: "effect.ts" | "express.ts"
  readonly line: Line
  /** The Effect 4 engine the server needs (it runs only when the line has it). */
  readonly engine?: Effect4Engine
  readonly env: (ctx: Context) => Record<string, string>
}

interface Context {
  readonly dir: string
  readonly redisUrl: string
}

export const servers = {
  effectMemory: "Effect 3 app + MemStore",
  effectFile: "Effect 3 app + FileStore (everysec)",
  effectRedis: "Effect 3 app + RedisStore",
  effectPlain: "Effect 3 app, no sessions",
  effect4Memory: "Effect 4 app + MemStore",
  effect4File: "Effect 4 app + FileStore (everysec)",
  effect4Redis: "Effect 4 app + RedisStore",
  effect4Plain: "Effect 4 app, no sessions",
  expressMemory: "express-session + memorystore",
  expressFile: "express-session + session-file-store",
  expressRedis: "express-session + connect-redis"
} as const

/** The Effect servers of a line (the same app and engines on both). */
const effectSpecs = (line: Line): ReadonlyArray<ServerSpec> => {
  const name = (engine: string) => `Effect ${line} app${engine}`
  return [
    {
      name: name(" + MemStore"),
      script: "effect.ts",
      line,
      engine: "memory",
      env: () => ({ SESSION_STORE: "memory" })
    },
    {
      name: name(" + FileStore (everysec)"),
      script: "effect.ts",
      line,
      engine: "file",
      env: (ctx) => ({
        SESSION_STORE: "file",
        SESSION_SYNC: "everysec",
        SESSION_FILE: Path.join(ctx.dir, `effect${line}`, "sessions.log")
      })
    },
    {
      name: name(" + RedisStore"),
      script: "effect.ts",
      line,
      engine: "redis",
      env: (ctx) => ({ SESSION_STORE: "redis", REDIS_URL: ctx.redisUrl, SESSION_PREFIX: `bench-http-effect${line}:` })
    },
    { name: name(", no sessions"), script: "effect.ts", line, env: () => ({ BENCH_MODE: "plain" }) }
  ]
}

const EXPRESS_SPECS: ReadonlyArray<ServerSpec> = [
  { name: servers.expressMemory, script: "express.ts", line: 3, env: () => ({ BENCH_STORE: "memorystore" }) },
  {
    name: servers.expressFile,
    script: "express.ts",
    line: 3,
    env: (ctx) => ({ BENCH_STORE: "file", SESSION_DIR: Path.join(ctx.dir, "express") })
  },
  {
    name: servers.expressRedis,
    script: "express.ts",
    line: 3,
    env: (ctx) => ({ BENCH_STORE: "redis", REDIS_URL: ctx.redisUrl })
  }
]

/** The servers of a run: the Effect 4 ones when the line has HTTP sessions, each with its engine. */
const specsFor = (effect4: Effect4Run | undefined): ReadonlyArray<ServerSpec> => [
  ...effectSpecs(3),
  ...(effect4?.http === true
    ? effectSpecs(4).filter((spec) => spec.engine === undefined || effect4.engines.includes(spec.engine))
    : []),
  ...EXPRESS_SPECS
]

/**
 * Each engine's checks: `/get` against the express stack with the matching store, and against the same line's app
 * without sessions. Issue 6's targets for the Effect 3 line, issue 12's for the Effect 4 line.
 */
const COMPARISONS: ReadonlyArray<{ readonly server: string; readonly against: string; readonly get?: Target }> = [
  { server: servers.effectMemory, against: servers.expressMemory, get: atLeast(2) },
  { server: servers.effectMemory, against: servers.effectPlain, get: atLeast(0.85) },
  { server: servers.effectFile, against: servers.expressFile, get: atLeast(2) },
  { server: servers.effectFile, against: servers.effectPlain, get: atLeast(0.85) },
  { server: servers.effectRedis, against: servers.expressRedis, get: atLeast(2) },
  { server: servers.effectRedis, against: servers.effectPlain, get: atLeast(0.85) },
  { server: servers.effect4Memory, against: servers.expressMemory, get: atLeast(3) },
  { server: servers.effect4Memory, against: servers.effect4Plain, get: atLeast(0.85) },
  { server: servers.effect4Memory, against: servers.effectMemory },
  { server: servers.effect4File, against: servers.expressFile, get: atLeast(3) },
  { server: servers.effect4File, against: servers.effect4Plain, get: atLeast(0.85) },
  { server: servers.effect4File, against: servers.effectFile },
  { server: servers.effect4Redis, against: servers.expressRedis, get: atLeast(3) },
  { server: servers.effect4Redis, against: servers.effect4Plain, get: atLeast(0.85) },
  { server: servers.effect4Redis, against: servers.effectRedis },
  { server: servers.effect4Plain, against: servers.effectPlain }
]

const PATHS = ["/get", "/put"] as const

/** A server of this section: its script on its line's Node. */
const launch = (ctx: Context) => (spec: ServerSpec): Launch => ({
  node: nodeFor(spec.line),
  args: [...NODE_IMPORTS, scriptPath(spec.line, `servers/${spec.script}`)],
  env: spec.env(ctx)
})

export const runHttp = async (settings: HttpSettings, effect4: Effect4Run | undefined): Promise<Table> => {
  const { log } = settings
  const SPECS = specsFor(effect4)
  const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-http-"))
  const { mkdir } = await import("node:fs/promises")
  for (const folder of ["effect3", "effect4", "express"]) await mkdir(Path.join(dir, folder))
  const redis = await RedisServer.start()
  const running: Array<Running<ServerSpec>> = []
  let loader: Loader | undefined
  try {
    const ctx: Context = { dir, redisUrl: redis.url }
    log(`  starting ${SPECS.length} servers and the load generator`)
    // the rounds go through the servers in the table's order
    await startServers(SPECS, launch(ctx), running, log)
    loader = await Loader.start()
    log(`  creating ${settings.connections} sessions per server`)
    for (const server of running) {
      server.cookies = server.spec.name === servers.effectPlain || server.spec.name === servers.effect4Plain
        ? []
        : await createSessions(server, settings.connections)
    }
    const measure = (server: Running<ServerSpec>, path: string, duration: number) =>
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
          log(loadLine(round, settings.rounds, server.spec.name, 38, path, result))
        }
      }
    }
    return httpTable(results, settings, SPECS, effect4)
  } finally {
    await loader?.stop()
    await Promise.all(running.map(stopServer))
    await redis.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

const HTTP_COLUMNS = ["server", "path", "req/s (median)", "range", "p50", "p99", "errors", "ratio", "target", "result"]

export const httpTable = (
  results: ReadonlyMap<string, ReadonlyArray<LoadResult>>,
  settings: Omit<HttpSettings, "log">,
  specs: ReadonlyArray<ServerSpec>,
  effect4: Effect4Run | undefined
): Table => {
  const table = makeTable(
    `2. HTTP level: ${settings.connections} connections, ${settings.duration} s per measurement, ${settings.rounds} round${
      settings.rounds === 1 ? "" : "s"
    } in alternation (req/s of 2xx answers with the expected body)`,
    HTTP_COLUMNS
  )
  for (const spec of specs) {
    for (const path of PATHS) {
      const rounds = results.get(`${spec.name} ${path}`) ?? []
      const measured = loadCells(spec.name, path, rounds)
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
    "Effect 3 servers: `examples/basic.ts`'s `app` with `Session.layer()` defaults (24 h lifetime, token hashed in the store) on the engine `examples/store.ts` builds; no request logger. Effect 4 servers (`packages/effect4/bench/servers/effect.ts`): the same routes on `HttpRouter.serve` with `HttpSession.layerRouter`, `Session.layer()` defaults, the same engines and settings; no request logger.",
    "express servers: express 5 + express-session (resave: false, saveUninitialized: false, cookie maxAge 24 h); `/put` also increments a counter so that every `/put` really writes (express-session skips unchanged sessions); `/get` touches the store entry (express-session's default with these stores).",
    "One private redis-server (persistence off) serves every Redis stack; the machine's cores are shared by the server under test, the load generator and Redis."
  )
  if (effect4 !== undefined) {
    table.notes.push(
      effect4.http
        ? `${linesNote(effect4)}${
          effect4.engines.length < 3 ? ` Engines the Effect 4 line does not have yet: not measured.` : ""
        }`
        : "Effect 4 line: Session and HttpSession are not on this branch yet (not measured)."
    )
  }
  return table
}
