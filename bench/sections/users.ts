/**
 * Section 6, a user's sessions (issue 15): `SessionManager.listUserSessions(user)` and `revokeUserSessions(user)`
 * for a user with 5 sessions must cost the user's sessions, not the store's: on each engine and line, both are
 * timed in a store holding few other sessions and in one holding many (1,000 and 1,000,000; `--quick`: 1,000 and
 * 100,000), in the same child process, alternately; the two must be within 2× of each other.
 *
 * Each (engine, line) runs in its own child (`children/users.ts`, Effect 4: `packages/effect4/bench/children/
 * users.ts`): MemStore and FileStore are filled by each line's child (FileStore: a log per store and line); each
 * size of Redis is a private redis-server, filled once by the first line's child and used by both lines.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { RedisServer } from "../../test/helpers/redis.js"
import { type Line, runChild } from "../lib/child.js"
import { median } from "../lib/stats.js"
import { checks, fmtLatency, fmtRatio, makeTable, type Table, type Verdict } from "../lib/table.js"
import {
  SESSIONS_PER_USER,
  type UsersEngine,
  type UsersInput,
  type UsersOutput,
  type UsersStoreSpec
} from "../lib/userSessions.js"
import { DAY_MS } from "../lib/workload.js"
import { type Effect4Run, linesNote } from "./store.js"

export interface UsersSettings {
  /** Other users' sessions in the small store and in the big one. */
  readonly small: number
  readonly big: number
  /** Measured users per store (each listed once and revoked once), after `warmupUsers`. */
  readonly users: number
  readonly warmupUsers: number
  readonly log: (line: string) => void
}

const ENGINES: ReadonlyArray<UsersEngine> = ["memory", "file", "redis"]
const engineName: Record<UsersEngine, string> = {
  memory: "MemStore",
  file: "FileStore (everysec)",
  redis: "RedisStore"
}

const count = (n: number) => n.toLocaleString("en-US")
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export const runUsers = async (settings: UsersSettings, effect4: Effect4Run | undefined): Promise<Table> => {
  const { log } = settings
  const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-users-"))
  const redis: Array<RedisServer> = []
  try {
    redis.push(await RedisServer.start(), await RedisServer.start())
    const results: Array<{ engine: UsersEngine; line: Line; output: UsersOutput }> = []
    for (const engine of ENGINES) {
      const lines: Array<Line> = effect4?.engines.includes(engine) === true ? [3, 4] : [3]
      for (const [n, line] of lines.entries()) {
        const store = (others: number, i: number): UsersStoreSpec => ({
          others,
          fill: engine !== "redis" || n === 0,
          ...(engine === "file" ? { path: Path.join(dir, `effect${line}-${i === 0 ? "small" : "big"}.log`) } : {}),
          ...(engine === "redis" ? { url: redis[i]!.url } : {})
        })
        const input: UsersInput = {
          engine,
          line,
          stores: [store(settings.small, 0), store(settings.big, 1)],
          users: settings.users,
          warmupUsers: settings.warmupUsers,
          expiresAt: Date.now() + DAY_MS
        }
        const output = await runChild<UsersOutput>("children/users.ts", input, { line, timeoutMs: 600_000 })
        const [small, big] = output.stores
        log(
          `  ${engineName[engine]} (Effect ${line}): filled ${
            output.stores.map((s) => s.fillMs > 0 ? `${count(s.filled)} entries in ${seconds(s.fillMs)}` : "(reused)")
              .join(", ")
          }; list ${fmtLatency(median(small!.list))} vs ${fmtLatency(median(big!.list))}, revoke ${
            fmtLatency(median(small!.revoke))
          } vs ${fmtLatency(median(big!.revoke))}`
        )
        results.push({ engine, line, output })
      }
    }
    return usersTable(results, settings, effect4)
  } finally {
    await Promise.all(redis.map((r) => r.dispose()))
    await rm(dir, { recursive: true, force: true })
  }
}

const usersTable = (
  results: ReadonlyArray<{ engine: UsersEngine; line: Line; output: UsersOutput }>,
  settings: Omit<UsersSettings, "log">,
  effect4: Effect4Run | undefined
): Table => {
  const table = makeTable(
    `6. A user's sessions (issue 15): one user with ${SESSIONS_PER_USER} sessions, the store holding ${
      count(settings.small)
    } vs ${count(settings.big)} other sessions (median of ${settings.users} users per store, alternating)`,
    [
      "engine",
      "line",
      "operation",
      `${count(settings.small)} sessions`,
      `${count(settings.big)} sessions`,
      "big/small",
      "target",
      "result"
    ]
  )
  for (const { engine, line, output } of results) {
    const [small, big] = output.stores
    for (const operation of ["listUserSessions", "revokeUserSessions"] as const) {
      const pick = (s: typeof small) => (operation === "listUserSessions" ? s!.list : s!.revoke)
      const a = median(pick(small))
      const b = median(pick(big))
      const ratio = b / a
      // within 2× of each other, either way
      const v: Verdict = Number.isFinite(ratio) && Math.max(ratio, 1 / ratio) <= 2 ? "PASS" : "MISS"
      checks.push({
        section: "users",
        what: `${engineName[engine]} (Effect ${line}) ${operation}, ${count(settings.big)} vs ${
          count(settings.small)
        } sessions`,
        measured: fmtRatio(ratio),
        target: "within 2×",
        verdict: v
      })
      table.rows.push([
        operation === "listUserSessions" ? engineName[engine] : "",
        operation === "listUserSessions" ? `Effect ${line}` : "",
        operation,
        fmtLatency(a),
        fmtLatency(b),
        fmtRatio(ratio),
        "within 2×",
        v
      ])
    }
  }
  const fills = results.flatMap(({ engine, line, output }) =>
    output.stores.filter((s) => s.fillMs > 0 && s.others === settings.big).map((s) =>
      `${engineName[engine]} (Effect ${line}) ${count(s.filled)} entries in ${seconds(s.fillMs)}`
    )
  )
  table.notes.push(
    `The other sessions belong to other users, ${SESSIONS_PER_USER} each, every user with its index entry (the store holds ${
      count(settings.big * (SESSIONS_PER_USER + 1) / SESSIONS_PER_USER)
    } entries for ${
      count(settings.big)
    } sessions), written with the store's \`save\` as the session layer encodes them (records with user, info, created and seen; index entries of \`core/userIndex.ts\`). The measured users' sessions are bound through \`SessionManager\` (\`begin\`, \`setUser\`, \`commit\`). Each user is listed once, then revoked once (5 sessions ended), in the small and the big store alternately; times per call from \`performance.now()\` around \`Effect.runPromise\`; ${settings.warmupUsers} warm-up users per store first.`,
    `MemStore and FileStore: a fresh store per line and size (FileStore: its own log, sync everysec); RedisStore: a private redis-server per size (persistence off), filled once and used by both lines. Fill times of the big stores: ${
      fills.join("; ")
    }.`
  )
  if (effect4 !== undefined) table.notes.push(linesNote(effect4))
  return table
}
