/**
 * Section 3, memory and pauses: resident memory per live session (MemStore vs memorystore, each in a fresh
 * process), and the longest event-loop stall while a million expired sessions are swept.
 */
import type { MemoryInput, MemoryOutput } from "../children/memory.js"
import type { SweepInput, SweepOutput } from "../children/sweep.js"
import { runChild } from "../lib/child.js"
import { max } from "../lib/stats.js"
import { atMost, checks, fmtBytes, fmtRatio, fmtTarget, makeTable, type Table, verdict } from "../lib/table.js"

export interface MemorySettings {
  readonly sessions: number
  /** How many times the sweep is measured (the worst stall counts). */
  readonly sweepRuns: number
  /** How long each sweep measurement keeps watching once the store is empty. */
  readonly watchMs: number
  readonly log: (line: string) => void
}

const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`

export const runMemory = async (settings: MemorySettings): Promise<Table> => {
  const { log, sessions } = settings
  const count = sessions.toLocaleString("en-US")
  const memory = async (subject: MemoryInput["subject"]) => {
    const input: MemoryInput = { subject, sessions }
    const result = await runChild<MemoryOutput>("children/memory.ts", input, { execArgv: ["--expose-gc"] })
    log(`  ${subject}: ${fmtBytes(result.rssPerSession)} RSS per session (filled in ${Math.round(result.fillMs)} ms)`)
    return result
  }
  const ours = await memory("MemStore")
  const theirs = await memory("memorystore")

  const sweeps: Array<SweepOutput> = []
  for (let i = 0; i < settings.sweepRuns; i++) {
    const input: SweepInput = { subject: "MemStore", sessions, watchMs: settings.watchMs }
    const sweep = await runChild<SweepOutput>("children/sweep.ts", input, { execArgv: ["--expose-gc"] })
    log(`  MemStore sweep ${i + 1}: longest stall ${fmtMs(sweep.maxStallMs)}, swept in ${fmtMs(sweep.sweepMs)}`)
    sweeps.push(sweep)
  }
  const pruneInput: SweepInput = { subject: "memorystore", sessions, watchMs: settings.watchMs }
  const prune = await runChild<SweepOutput>("children/sweep.ts", pruneInput, { execArgv: ["--expose-gc"] })
  log(`  memorystore prune: longest stall ${fmtMs(prune.maxStallMs)}`)

  const table = makeTable(`3. Memory and pauses, ${count} live sessions`, [
    "measurement",
    "MemStore",
    "memorystore",
    "ratio",
    "target",
    "result"
  ])
  const rssRatio = ours.rssPerSession / theirs.rssPerSession
  const rssTarget = atMost(0.75)
  const rssVerdict = verdict(rssRatio, rssTarget)
  checks.push({
    section: "memory",
    what: "MemStore RSS per live session vs memorystore",
    measured: fmtRatio(rssRatio),
    target: fmtTarget(rssTarget),
    verdict: rssVerdict
  })
  table.rows.push([
    `resident memory (RSS) per live session`,
    fmtBytes(ours.rssPerSession),
    fmtBytes(theirs.rssPerSession),
    fmtRatio(rssRatio),
    fmtTarget(rssTarget),
    rssVerdict
  ])
  table.rows.push([
    "of which V8 heap / external (ArrayBuffers)",
    `${fmtBytes(ours.heapPerSession)} / ${fmtBytes(ours.externalPerSession)}`,
    `${fmtBytes(theirs.heapPerSession)} / ${fmtBytes(theirs.externalPerSession)}`,
    fmtRatio((ours.heapPerSession + ours.externalPerSession) / (theirs.heapPerSession + theirs.externalPerSession)),
    "—",
    "info"
  ])
  const worst = max(sweeps.map((s) => s.maxStallMs))
  const stallTarget = atMost(20)
  const stallVerdict = verdict(worst, stallTarget)
  checks.push({
    section: "memory",
    what: `longest event-loop stall while ${count} expired sessions are swept (MemStore cleanup)`,
    measured: fmtMs(worst),
    target: fmtTarget(stallTarget, " ms"),
    verdict: stallVerdict
  })
  table.rows.push([
    `longest event-loop stall while ${count} expired sessions are swept`,
    `${fmtMs(worst)} (runs: ${sweeps.map((s) => s.maxStallMs.toFixed(1)).join(", ")})`,
    `${fmtMs(prune.maxStallMs)} (one prune() call)`,
    "",
    fmtTarget(stallTarget, " ms"),
    stallVerdict
  ])
  table.rows.push([
    "time from expiry to an empty store",
    sweeps.map((s) => fmtMs(s.sweepMs)).join(", "),
    fmtMs(prune.sweepMs),
    "",
    "—",
    "info"
  ])
  table.notes.push(
    "Each number from a fresh child process started with --expose-gc: RSS after full GCs once filled, minus RSS after full GCs before filling, per session. Ours stores the codec's bytes, memorystore its JSON string of express-session's session object (same values); same token length.",
    `The stall: \`perf_hooks.monitorEventLoopDelay\` (1 ms resolution) from the moment every session is expired (the filled store is first left 1 s to settle after a forced full GC, so that V8 finishing that collection is not counted; the store's Effect Clock is moved 2 h ahead; the cleanup runs every second) until the store is empty, and ${
      settings.watchMs / 1000
    } s more (the garbage collections that follow). memorystore's row is its \`prune()\`, the call its \`checkPeriod\` timer makes, for comparison.`
  )
  return table
}
