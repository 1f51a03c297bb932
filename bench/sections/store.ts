/**
 * Section 1, store level: each group (memory, Redis, files) runs in its own child process.
 */
import type { StoreGroupInput, StoreGroupOutput } from "../children/store-group.js"
import { runChild } from "../lib/child.js"
import { fmtBytes, type Table } from "../lib/table.js"
import { storeTable } from "../store/group.js"
import { groupComparisons, type GroupId, groupTitle } from "../store/groups.js"

export interface StoreSettings {
  readonly sessions: number
  readonly ops: number
  readonly rounds: number
  /** The most time one run (one subject, one mode, one round) may take; slow peers stop early. */
  readonly limitMs: number
  readonly warmupOps: number
}

export const runStoreGroup = async (id: GroupId, settings: StoreSettings): Promise<Table> => {
  const input: StoreGroupInput = { id, ...settings }
  const output = await runChild<StoreGroupOutput>("children/store-group.ts", input, { execArgv: ["--expose-gc"] })
  const table = storeTable("store", groupTitle[id], output.results, groupComparisons[id])
  table.notes.push(
    `${settings.sessions.toLocaleString("en-US")} sessions preloaded, then up to ${
      settings.ops.toLocaleString("en-US")
    } operations per run (80% reads, 20% writes, the same sequence for every subject; a run also stops after ${
      settings.limitMs / 1000
    } s, see the ops column), ${settings.rounds} round${
      settings.rounds === 1 ? "" : "s"
    } in alternation; ops/s is the median of the rounds, the ratio the median of the per-round ratios (range in parentheses).`,
    `Stored session: ${fmtBytes(output.sizes.ours)} with our codec, ${
      fmtBytes(output.sizes.express)
    } as express-session's JSON (the same values plus its cookie object). Ours: codec encode + \`save\`, \`find\` + codec decode; theirs: the store's \`set\` / \`get\` (its JSON included).`
  )
  if (id === "redis") {
    table.notes.push(
      "Redis: a private redis-server started for the run (persistence off), on the same machine. The ceiling uses ioredis with RedisStore's own setting (auto-pipelining)."
    )
  }
  if (id === "file") {
    table.notes.push(
      "Files: fresh temporary folders on the machine's disk. session-file-store writes each session with write-file-atomic (temporary file, fsync, rename) and reads the file on every `get`."
    )
  }
  return table
}
