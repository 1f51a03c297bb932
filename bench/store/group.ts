/**
 * Runs a group of store subjects on one workload, in alternation (every round runs every subject in both modes,
 * starting from a different subject each round), and turns the results into a table.
 */
import type { Limit, RunResult } from "../lib/drivers.js"
import { median } from "../lib/stats.js"
import {
  checkCells,
  fmtCompact,
  fmtLatency,
  fmtRange,
  fmtRate,
  makeTable,
  type Table,
  type Target
} from "../lib/table.js"
import type { Workload } from "../lib/workload.js"
import type { Subject } from "./subjects.js"

export interface Mode {
  readonly name: string
  readonly concurrency: number
}

export const SEQUENTIAL: Mode = { name: "sequential", concurrency: 1 }
export const IN_FLIGHT_64: Mode = { name: "64 in flight", concurrency: 64 }

export interface GroupSettings {
  readonly rounds: number
  readonly modes: ReadonlyArray<Mode>
  readonly limit: Limit
  /** A short unmeasured run of each subject and mode first (JIT warm-up). */
  readonly warmup: Limit
  readonly log?: (line: string) => void
}

export interface SubjectResult {
  readonly subject: string
  readonly mode: string
  /** One result per round. */
  readonly rounds: ReadonlyArray<RunResult>
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

export const runGroup = async (
  subjects: ReadonlyArray<Subject>,
  workload: Workload,
  settings: GroupSettings
): Promise<Array<SubjectResult>> => {
  const log = settings.log ?? (() => {})
  const instances = []
  try {
    for (const subject of subjects) {
      const t0 = performance.now()
      instances.push({ subject, instance: await subject.open(workload) })
      log(
        `  opened ${subject.name} (${workload.sessions} sessions preloaded in ${Math.round(performance.now() - t0)} ms)`
      )
    }
    for (const { instance } of instances) {
      for (const mode of settings.modes) await instance.run(mode.concurrency, settings.warmup)
    }
    const results = new Map<string, Array<RunResult>>()
    for (let round = 0; round < settings.rounds; round++) {
      for (const mode of settings.modes) {
        for (let j = 0; j < instances.length; j++) {
          const { instance, subject } = instances[(j + round) % instances.length]!
          gc()
          const result = await instance.run(mode.concurrency, settings.limit)
          const key = `${subject.name}\u0000${mode.name}`
          results.set(key, [...(results.get(key) ?? []), result])
          log(
            `  round ${round + 1}/${settings.rounds} ${mode.name.padEnd(12)} ${subject.name.padEnd(36)} ` +
              `${fmtRate(result.opsPerSec).padStart(11)} ops/s  p50 ${fmtLatency(result.p50)}  p99 ${
                fmtLatency(result.p99)
              }  (${result.ops} ops)`
          )
        }
      }
    }
    const out: Array<SubjectResult> = []
    for (const mode of settings.modes) {
      for (const subject of subjects) {
        out.push({ subject: subject.name, mode: mode.name, rounds: results.get(`${subject.name}\u0000${mode.name}`)! })
      }
    }
    return out
  } finally {
    for (const { instance } of instances) await instance.close()
  }
}

/** A comparison shown in a row: this subject's ops/s over `against`'s, in the same round and mode. */
export interface Comparison {
  readonly subject: string
  /** Restricts the comparison to one mode; both modes otherwise. */
  readonly mode?: string
  readonly against: string
  readonly target?: Target
}

export const STORE_COLUMNS = [
  "subject",
  "mode",
  "ops",
  "ops/s (median)",
  "range",
  "p50",
  "p99",
  "ratio",
  "target",
  "result"
]

/** One row per subject and mode, plus one line per comparison (ratio, target, PASS/MISS or info). */
export const storeTable = (
  section: string,
  title: string,
  results: ReadonlyArray<SubjectResult>,
  comparisons: ReadonlyArray<Comparison>
): Table => {
  const table = makeTable(title, STORE_COLUMNS)
  for (const result of results) {
    const rates = result.rounds.map((r) => r.opsPerSec)
    const measured = [
      result.subject,
      result.mode,
      fmtCompact(median(result.rounds.map((r) => r.ops))),
      fmtRate(median(rates)),
      fmtRange(rates),
      fmtLatency(median(result.rounds.map((r) => r.p50))),
      fmtLatency(median(result.rounds.map((r) => r.p99)))
    ]
    const mine = comparisons.filter((c) =>
      c.subject === result.subject && (c.mode === undefined || c.mode === result.mode)
    )
    if (mine.length === 0) table.rows.push([...measured, "", "", ""])
    mine.forEach((c, i) => {
      const other = results.find((r) => r.subject === c.against && r.mode === result.mode)
      const ratios = other === undefined
        ? [Number.NaN]
        : result.rounds.map((r, round) => r.opsPerSec / (other.rounds[round]?.opsPerSec ?? Number.NaN))
      const cells = checkCells(section, `${result.subject} (${result.mode})`, ratios, c.against, c.target)
      table.rows.push([...(i === 0 ? measured : measured.map(() => "")), ...cells])
    })
  }
  return table
}
