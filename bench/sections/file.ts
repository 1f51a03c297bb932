/**
 * Section 4, FileStore's log: the time to open (replay) a log of a million sessions, and the log's size after a
 * compaction against the live data.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import type { CompactOutput, FileInput, OpenOutput, PrepareOutput } from "../children/file-open.js"
import { runChild } from "../lib/child.js"
import { max, median, min } from "../lib/stats.js"
import { atMost, checks, fmtBytes, fmtRatio, fmtTarget, makeTable, type Table, verdict } from "../lib/table.js"

export interface FileSettings {
  readonly sessions: number
  readonly openRuns: number
  readonly log: (line: string) => void
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

export const runFile = async (settings: FileSettings): Promise<Table> => {
  const { log, sessions } = settings
  const count = sessions.toLocaleString("en-US")
  const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-file-"))
  try {
    const path = Path.join(dir, "clean.log")
    const churnPath = Path.join(dir, "churn.log")
    const prepareInput: FileInput = { step: "prepare", sessions, path, churnPath }
    const prepared = await runChild<PrepareOutput>("children/file-open.ts", prepareInput)
    log(`  wrote ${fmtBytes(prepared.bytes)} and ${fmtBytes(prepared.churnBytes)} of log`)
    const opens: Array<OpenOutput> = []
    for (let i = 0; i < settings.openRuns; i++) {
      const openInput: FileInput = { step: "open", path }
      const opened = await runChild<OpenOutput>("children/file-open.ts", openInput)
      if (opened.sessions !== sessions) throw new Error(`FileStore opened ${opened.sessions} of ${sessions} sessions`)
      log(`  open ${i + 1}: ${seconds(opened.openMs)}`)
      opens.push(opened)
    }
    const compactInput: FileInput = { step: "compact", path: churnPath }
    const compacted = await runChild<CompactOutput>("children/file-open.ts", compactInput)
    log(
      `  compacted ${fmtBytes(compacted.logBefore)} to ${fmtBytes(compacted.logAfter)} in ${
        seconds(compacted.compactMs)
      }`
    )

    const table = makeTable(`4. FileStore log, ${count} sessions`, ["measurement", "value", "target", "result"])
    const openMs = opens.map((o) => o.openMs)
    // the target is for a million sessions: a smaller (--quick) run only reports its time
    const target = sessions >= 1_000_000 ? atMost(3) : undefined
    const v = verdict(median(openMs) / 1000, target)
    if (target !== undefined) {
      checks.push({
        section: "file",
        what: `FileStore opens ${count} sessions`,
        measured: seconds(median(openMs)),
        target: fmtTarget(target, " s"),
        verdict: v
      })
    }
    table.rows.push([
      `open (replay) ${count} sessions, ${fmtBytes(prepared.bytes)} log, fresh process`,
      `${seconds(median(openMs))}${
        openMs.length > 1 ? ` (${seconds(min(openMs))}–${seconds(max(openMs))}, ${openMs.length} runs)` : ""
      }`,
      target === undefined ? "< 3 s for 1,000,000" : fmtTarget(target, " s"),
      v
    ])
    table.rows.push([
      "memory of the process with the store open (RSS)",
      `${fmtBytes(median(opens.map((o) => o.rssAfter)))}`,
      "—",
      "info"
    ])
    table.rows.push([
      `log with churn (half the sessions saved again, a quarter deleted): ${
        compacted.sessions.toLocaleString("en-US")
      } live`,
      fmtBytes(compacted.logBefore),
      "—",
      "info"
    ])
    table.rows.push([
      "log after `compact` vs live data (tokens + session bytes)",
      `${fmtBytes(compacted.logAfter)} vs ${fmtBytes(compacted.liveData)} = ${
        fmtRatio(compacted.logAfter / compacted.liveData)
      }`,
      "—",
      "info"
    ])
    table.rows.push([
      "compaction time (open store, writes allowed meanwhile)",
      seconds(compacted.compactMs),
      "—",
      "info"
    ])
    table.notes.push(
      "Logs written with the log format's own encoder (src/core/fileLog.ts), one put record per session (as a compaction leaves the log), sessions of the workload's size; opened by `FileStore.make` in a fresh child process (page cache warm: the log was just written). The compaction row: the log with churn, opened, then `compact`."
    )
    return table
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
