/**
 * Section 1, store level: each group (memory, Redis, files) runs in its own child process, the Effect 4 line's
 * subjects in a Node 22 host of that child.
 */
import type { StoreGroupInput, StoreGroupOutput } from "../children/store-group.js"
import { runChild } from "../lib/child.js"
import { fmtBytes, type Table } from "../lib/table.js"
import { storeTable } from "../store/group.js"
import { type Effect4Engine, groupComparisons, type GroupId, groupTitle } from "../store/groups.js"

export interface StoreSettings {
  readonly sessions: number
  readonly ops: number
  readonly rounds: number
  /** The most time one run (one subject, one mode, one round) may take; slow peers stop early. */
  readonly limitMs: number
  readonly warmupOps: number
}

/** The Effect 4 line's part of a run: its engines and the Node it runs on; `undefined` leaves the line out. */
export interface Effect4Run {
  readonly engines: ReadonlyArray<Effect4Engine>
  readonly http: boolean
  readonly node: string
}

/** The note under each table that has both lines. */
export const linesNote = (effect4: Effect4Run): string =>
  `Effect 3 line: the root package (effect 3) on Node ${process.version}, with the peers; Effect 4 line: \`packages/effect4\` (effect 4) in Node ${effect4.node} processes (its platform-node needs Node 22), measured in the same run, in alternation with the others.`

export const runStoreGroup = async (
  id: GroupId,
  settings: StoreSettings,
  effect4: Effect4Run | undefined
): Promise<Table> => {
  const input: StoreGroupInput = { id, ...settings, effect4: effect4?.engines ?? [] }
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
  if (effect4 !== undefined) {
    table.notes.push(
      effect4.engines.includes(id)
        ? linesNote(effect4)
        : "Effect 4 line: this engine is not on this branch yet (not measured)."
    )
  }
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
