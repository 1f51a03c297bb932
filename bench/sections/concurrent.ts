/**
 * Section 5, concurrent requests (issue 13): what the per-key merge commit (a request records its changes; its
 * commit loads the record as stored and writes it back with the changes merged, conditionally, retrying on
 * conflicts) costs against the previous whole-record write (`find` on the first read, `save` of the whole record
 * at the end), and what it buys.
 *
 * The previous implementation is a commit of this repository (`PREVIOUS_COMMIT`), checked out in a temporary git
 * worktree and built (`lib/previous.ts`); both implementations run the same server file (`servers/effect.ts` in
 * `BENCH_MODE=keys`, and its Effect 4 twin) on each engine and line, each server in its own process, in the same
 * run, in alternation, one pair at a time (only its two servers are up while it is measured):
 *
 * - `/put` and `/get`, as in section 2: 50 connections, each with its own session (no conflicts), autocannon.
 * - Conflicts: bursts of 16 concurrent requests on ONE session, each setting its own key, repeated on a fresh
 *   session each time; after each burst the session's keys are read back, and a key whose request was answered 200
 *   but is missing is a lost write (`children/loader.ts`).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { RedisServer } from "../../test/helpers/redis.js"
import type { BurstResult, LoadResult } from "../children/loader.js"
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
import { checkoutPrevious, type Previous } from "../lib/previous.js"
import { median } from "../lib/stats.js"
import {
  atMost,
  checkCells,
  checks,
  fmtLatency,
  fmtRange,
  fmtRate,
  makeTable,
  type Table,
  type Verdict
} from "../lib/table.js"
import type { Effect4Engine } from "../store/groups.js"
import { type Effect4Run, linesNote } from "./store.js"

/** The implementation before the per-key merge commit (issue 13): the last commit with the whole-record write. */
export const PREVIOUS_COMMIT = "1d8e560"

export interface ConcurrentSettings {
  readonly connections: number
  /** Seconds per `/put` or `/get` measurement. */
  readonly duration: number
  /** Seconds of warm-up per server and path (0: none). */
  readonly warmup: number
  readonly rounds: number
  /** Concurrent requests per burst of the conflict workload. */
  readonly writers: number
  /** Seconds of bursts per measurement. */
  readonly burstSeconds: number
  readonly log: (line: string) => void
}

type Version = "current" | "previous"

interface Spec {
  readonly name: string
  readonly line: Line
  readonly engine: Effect4Engine
  readonly version: Version
}

const ENGINES: ReadonlyArray<Effect4Engine> = ["memory", "file", "redis"]
const engineName: Record<Effect4Engine, string> = {
  memory: "MemStore",
  file: "FileStore (everysec)",
  redis: "RedisStore"
}
const PATHS = ["/put", "/get"] as const

/**
 * The pairs (line, engine) measured, each with its current and previous server. `BENCH_PAIRS` (such as
 * `4:memory,4:redis`) keeps only the pairs it names, to measure one change quickly; unset, every pair.
 */
const pairsFor = (effect4: Effect4Run | undefined, previous: string) => {
  const lines: Array<Line> = effect4?.http === true ? [3, 4] : [3]
  const wanted = process.env.BENCH_PAIRS?.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const pairs: Array<readonly [Spec, Spec]> = []
  for (const line of lines) {
    for (const engine of ENGINES) {
      if (line === 4 && !effect4!.engines.includes(engine)) continue
      if (wanted !== undefined && wanted.length > 0 && !wanted.includes(`${line}:${engine}`)) continue
      const name = (what: string) => `Effect ${line} + ${engineName[engine]}, ${what}`
      pairs.push([
        { name: name("current"), line, engine, version: "current" },
        { name: name(previous), line, engine, version: "previous" }
      ])
    }
  }
  return pairs
}

const serverEnv = (spec: Spec, dir: string, redisUrl: string): Record<string, string> => {
  const id = `effect${spec.line}-${spec.version}`
  switch (spec.engine) {
    case "memory":
      return { BENCH_MODE: "keys", SESSION_STORE: "memory" }
    case "file":
      return {
        BENCH_MODE: "keys",
        SESSION_STORE: "file",
        SESSION_SYNC: "everysec",
        SESSION_FILE: Path.join(dir, id, "sessions.log")
      }
    case "redis":
      return { BENCH_MODE: "keys", SESSION_STORE: "redis", REDIS_URL: redisUrl, SESSION_PREFIX: `bench-conc-${id}:` }
  }
}

/**
 * The measurements of a round: the pairs rotated by the round; for each pair and path, its two servers one after
 * the other, the current one first on even rounds.
 */
const roundOrder = <A, P>(
  pairs: ReadonlyArray<readonly [A, A]>,
  round: number,
  paths: ReadonlyArray<P>
): Array<readonly [P, A]> => {
  const out: Array<readonly [P, A]> = []
  for (let j = 0; j < pairs.length; j++) {
    const [current, previous] = pairs[(j + round) % pairs.length]!
    for (const path of paths) {
      for (const server of round % 2 === 0 ? [current, previous] : [previous, current]) out.push([path, server])
    }
  }
  return out
}

export const runConcurrent = async (
  settings: ConcurrentSettings,
  effect4: Effect4Run | undefined
): Promise<ReadonlyArray<Table>> => {
  const { log } = settings
  const lines: Array<Line> = effect4?.http === true ? [3, 4] : [3]
  const previous: Previous = await checkoutPrevious(PREVIOUS_COMMIT, lines, log)
  const pairs = pairsFor(effect4, previous.commit)
  const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-concurrent-"))
  const running: Array<Running<Spec>> = []
  let redis: RedisServer | undefined
  let loader: Loader | undefined
  try {
    for (const line of lines) {
      for (const version of ["current", "previous"]) await mkdir(Path.join(dir, `effect${line}-${version}`))
    }
    redis = await RedisServer.start()
    const redisUrl = redis.url
    const launch = (spec: Spec): Launch => {
      const env = serverEnv(spec, dir, redisUrl)
      return spec.version === "previous"
        ? previous.server(spec.line, env)
        : { node: nodeFor(spec.line), args: [...NODE_IMPORTS, scriptPath(spec.line, "servers/effect.ts")], env }
    }
    loader = await Loader.start()
    const loads = new Map<string, Array<LoadResult>>()
    const bursts = new Map<string, Array<BurstResult>>()
    // One pair at a time: only its two servers are up while it is measured (with all of them up, the idle ones'
    // timers and memory added noise that did not hit both servers of a pair alike)
    for (const pair of pairs) {
      log(`  starting ${pair[0].name} and ${pair[1].name}`)
      await startServers(pair, launch, running, log)
      const servers = [running.at(-2)!, running.at(-1)!] as const
      for (const server of servers) server.cookies = await createSessions(server, settings.connections)
      const measure = (server: Running<Spec>, path: string, duration: number) =>
        loader!.load({
          url: server.base + path,
          connections: settings.connections,
          duration,
          cookies: server.cookies,
          expectBody: path === "/get" ? "Hello world!\n" : "OK\n"
        })
      if (settings.warmup > 0) {
        for (const server of servers) {
          for (const path of PATHS) await measure(server, path, settings.warmup)
          await loader.bursts({ base: server.base, writers: settings.writers, duration: 0 })
        }
      }
      for (let round = 0; round < settings.rounds; round++) {
        // the two servers one after the other on each path, the current one first on even rounds: what the
        // ratio compares is measured together
        for (const [path, server] of roundOrder([servers], round, PATHS)) {
          const result = await measure(server, path, settings.duration)
          const key = `${server.spec.name} ${path}`
          loads.set(key, [...(loads.get(key) ?? []), result])
          log(loadLine(round, settings.rounds, server.spec.name, 42, path, result))
        }
      }
      for (let round = 0; round < settings.rounds; round++) {
        for (const [, server] of roundOrder([servers], round, [""])) {
          const result = await loader.bursts({
            base: server.base,
            writers: settings.writers,
            duration: settings.burstSeconds
          })
          bursts.set(server.spec.name, [...(bursts.get(server.spec.name) ?? []), result])
          log(
            `  round ${round + 1}/${settings.rounds} ${server.spec.name.padEnd(42)} ${
              String(result.bursts).padStart(5)
            } bursts of ${settings.writers}: ${fmtRate(burstRate(result)).padStart(7)} req/s  lost ${result.lost} of ${
              result.written + result.failed
            }${result.failed > 0 ? `, failed ${result.failed} (${result.firstFailure?.trim().slice(0, 80)})` : ""}`
          )
        }
      }
      await Promise.all(servers.map(stopServer))
    }
    return [loadTable(loads, pairs, settings, previous, effect4), burstTable(bursts, pairs, settings, previous)]
  } finally {
    await loader?.stop()
    await Promise.all(running.map(stopServer))
    await redis?.dispose()
    await rm(dir, { recursive: true, force: true })
    await previous.dispose()
  }
}

/** Writing requests per second of a measurement's bursts. */
const burstRate = (result: BurstResult): number => (result.written + result.failed) / (result.burstMs / 1000)

const SECTION = "concurrent"

const loadTable = (
  loads: ReadonlyMap<string, ReadonlyArray<LoadResult>>,
  pairs: ReadonlyArray<readonly [Spec, Spec]>,
  settings: Omit<ConcurrentSettings, "log">,
  previous: Previous,
  effect4: Effect4Run | undefined
): Table => {
  const table = makeTable(
    `5a. Concurrent requests (issue 13): per-key merge commit vs ${previous.commit}'s whole-record write, ${settings.connections} connections each with its own session, ${settings.duration} s per measurement, ${settings.rounds} round${
      settings.rounds === 1 ? "" : "s"
    } in alternation`,
    [
      "server",
      "path",
      "req/s (median)",
      "range",
      "p50",
      "p99",
      "errors",
      "current/previous time per request",
      "target",
      "result"
    ]
  )
  for (const [current, old] of pairs) {
    for (const path of PATHS) {
      for (const spec of [current, old]) {
        const rounds = loads.get(`${spec.name} ${path}`) ?? []
        const measured = loadCells(spec.name, path, rounds)
        if (spec !== current) {
          table.rows.push([...measured, "", "", ""])
          continue
        }
        // the time per request of the current implementation over the previous one's, round by round
        const theirs = loads.get(`${old.name} ${path}`) ?? []
        const ratios = rounds.map((r, round) => (theirs[round]?.requestsPerSec ?? Number.NaN) / r.requestsPerSec)
        const target = path === "/put" ? atMost(1.1) : undefined
        table.rows.push([...measured, ...checkCells(SECTION, `${spec.name} ${path}`, ratios, old.name, target)])
      }
    }
  }
  table.notes.push(
    `The ratio is the current implementation's time per request over the previous one's (the previous req/s over the current req/s, per round; median, range across rounds in parentheses): above 1× the current one is slower. Issue 13's target: at most 1.10× on \`/put\`; \`/get\` is reported. Latencies from autocannon (1 ms resolution).`,
    `Previous: commit ${previous.commit} ("${previous.subject}"), checked out in a temporary git worktree, built like the current code and served by the same server file (\`bench/servers/effect.ts\` / \`packages/effect4/bench/servers/effect.ts\` with BENCH_MODE=keys: the example's \`/put\` and \`/get\`, \`Session.layer()\` defaults); only the library differs. Its \`/put\` is \`find\` + \`save\` of the whole record; the current one's is \`load\` + \`saveIf\` (conditional, merged), with the store's version.`,
    "One private redis-server (persistence off) serves every RedisStore server, each under its own prefix; FileStore servers each have their own log (sync everysec). The machine's cores are shared by the server under test, the load generator and Redis."
  )
  if (effect4 !== undefined) {
    table.notes.push(
      effect4.http ? linesNote(effect4) : "Effect 4 line: HTTP sessions are not on this branch (not measured)."
    )
  }
  return table
}

const burstTable = (
  bursts: ReadonlyMap<string, ReadonlyArray<BurstResult>>,
  pairs: ReadonlyArray<readonly [Spec, Spec]>,
  settings: Omit<ConcurrentSettings, "log">,
  previous: Previous
): Table => {
  const table = makeTable(
    `5b. Concurrent requests (issue 13), conflicts: bursts of ${settings.writers} concurrent requests on ONE session, each setting its own key, ${settings.burstSeconds} s of bursts per measurement, ${settings.rounds} round${
      settings.rounds === 1 ? "" : "s"
    } in alternation`,
    [
      "server",
      "bursts",
      "writes/s (median)",
      "range",
      "burst p50",
      "burst p99",
      "failed",
      "lost writes",
      "current/previous time per burst",
      "target",
      "result"
    ]
  )
  for (const [current, old] of pairs) {
    for (const spec of [current, old]) {
      const rounds = bursts.get(spec.name) ?? []
      const rates = rounds.map(burstRate)
      const sum = (f: (r: BurstResult) => number) => rounds.reduce((n, r) => n + f(r), 0)
      const written = sum((r) => r.written)
      const failed = sum((r) => r.failed)
      const lost = sum((r) => r.lost)
      const measured = [
        spec.name,
        String(sum((r) => r.bursts)),
        fmtRate(median(rates)),
        fmtRange(rates),
        fmtLatency(median(rounds.map((r) => r.p50))),
        fmtLatency(median(rounds.map((r) => r.p99))),
        String(failed),
        `${lost} of ${written + failed} (${((lost / Math.max(1, written + failed)) * 100).toFixed(1)}%)`
      ]
      if (spec !== current) {
        table.rows.push([...measured, "", "", "info"])
        continue
      }
      const theirs = bursts.get(old.name) ?? []
      const ratios = rounds.map((r, round) => burstRate(theirs[round]!) / burstRate(r))
      const [ratio] = checkCells(SECTION, `${spec.name} bursts`, ratios, old.name, undefined)
      // every key landed: no write lost, none failed
      const v: Verdict = lost === 0 && failed === 0 && written > 0 ? "PASS" : "MISS"
      checks.push({
        section: SECTION,
        what: `${spec.name}: every key of ${settings.writers} concurrent writers lands`,
        measured: `${lost} lost, ${failed} failed of ${written + failed}`,
        target: "0 lost, 0 failed",
        verdict: v
      })
      table.rows.push([...measured, ratio, "0 lost, 0 failed", v])
    }
  }
  table.notes.push(
    `Each burst: a fresh session (\`/set?k=start\`), then ${settings.writers} requests at once with its cookie, each \`/set?k=w<i>\` (one key each), then \`/keys\`. writes/s: the burst requests over the bursts' wall time (creation and check excluded), median of the rounds; burst p50/p99: the wall time of one burst. Lost writes: keys whose request was answered 200 but that the session does not hold afterwards; failed: requests not answered 200 (the current commit gives up after its retries with an error, never silently).`,
    `The previous implementation (${previous.commit}) writes the whole record it read: concurrent requests of one session overwrite each other's keys, which is what issue 13 fixes; its row shows how many keys it drops under this load, and the ratio what the merge and its retries cost against that.`,
    "On MemStore the previous implementation loses (next to) nothing here: a request's read, change and write of an in-memory store run without waiting for I/O, so these handlers (which wait for nothing either) hardly ever interleave between them; a handler that waits (a database call) between its first session read and its response would let them overlap. The test suite makes them overlap with gates (test/concurrency.test.ts)."
  )
  return table
}
