/**
 * `npm run bench`: effect-session against its Node peers, side by side, on this machine, with the targets of
 * issue 6 (Effect 3 line) and issue 12 (Effect 4 line); and, on both lines, the costs of issue 13's per-key merge
 * commit against the previous implementation (a git worktree of an older commit, run in the same run) and of
 * issue 15's user index against the size of the store. Prints a table per section and writes them all to
 * `bench/results/latest.md`.
 *
 *   npm run bench                      # the full run (about 25 minutes on 2 quiet cores)
 *   npm run bench -- --quick           # a smoke run (1 to 2 minutes): small sizes, short runs, one round
 *   npm run bench -- --only=store,http # some sections: store, http, memory, file, concurrent, users
 *   npm run bench -- --out=path.md     # write the results elsewhere
 *   npm run bench -- --without-effect4 # the Effect 3 line only (no Node 22 needed)
 *
 * Both release lines are measured in the same run, against the same peers: the Effect 3 line (the root package) on
 * this Node, the Effect 4 line (`packages/effect4`, built into its `dist/` first) in Node 22 child processes.
 *
 * Every measured part runs in its own child process; Redis is a private redis-server started for the run.
 * Timings depend on the machine and on what else runs on it: compare ratios from the same run, not numbers
 * across machines.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as OS from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { benchPath, nodeVersion } from "./lib/child.js"
import { buildEffect4, effect4Engines, effect4HasHttp } from "./lib/effect4.js"
import { checks, makeTable, renderTable, type Table } from "./lib/table.js"
import { runConcurrent } from "./sections/concurrent.js"
import { runFile } from "./sections/file.js"
import { runHttp } from "./sections/http.js"
import { runMemory } from "./sections/memory.js"
import { type Effect4Run, runStoreGroup } from "./sections/store.js"
import { runUsers } from "./sections/users.js"
import { GROUP_IDS } from "./store/groups.js"

export type SectionId = "store" | "http" | "memory" | "file" | "concurrent" | "users"
const SECTIONS: ReadonlyArray<SectionId> = ["store", "http", "memory", "file", "concurrent", "users"]

export interface Options {
  readonly quick: boolean
  readonly only: ReadonlyArray<SectionId>
  readonly out: string
  readonly effect4: boolean
}

export const parseArgs = (argv: ReadonlyArray<string>): Options => {
  let quick = false
  let only: ReadonlyArray<SectionId> = SECTIONS
  let out = benchPath("results/latest.md")
  let effect4 = true
  for (const arg of argv) {
    if (arg === "--quick") quick = true
    else if (arg === "--without-effect4") effect4 = false
    else if (arg.startsWith("--only=")) {
      const wanted = arg.slice("--only=".length).split(",").filter((s) => s.length > 0)
      for (const section of wanted) {
        if (!SECTIONS.includes(section as SectionId)) {
          throw new Error(`unknown section ${section}: ${SECTIONS.join(", ")}`)
        }
      }
      only = wanted as ReadonlyArray<SectionId>
    } else if (arg.startsWith("--out=")) out = Path.resolve(arg.slice("--out=".length))
    else {
      throw new Error(
        `unknown argument ${arg} (--quick, --only=${SECTIONS.join(",")}, --out=file.md, --without-effect4)`
      )
    }
  }
  return { quick, only, out, effect4 }
}

/** The sizes of each mode. The full run follows the issue; the quick one only checks that everything runs. */
export const settingsFor = (quick: boolean) =>
  quick
    ? {
      store: { sessions: 500, ops: 5_000, rounds: 1, limitMs: 300, warmupOps: 500 },
      http: { connections: 50, duration: 0.5, warmup: 0, rounds: 1 },
      memory: { sessions: 10_000, sweepRuns: 1, watchMs: 100 },
      file: { sessions: 10_000, openRuns: 1 },
      concurrent: { connections: 50, duration: 0.5, warmup: 0, rounds: 1, writers: 16, burstSeconds: 0.3 },
      users: { small: 1_000, big: 100_000, users: 20, warmupUsers: 5 }
    }
    : {
      store: { sessions: 10_000, ops: 100_000, rounds: 3, limitMs: 5_000, warmupOps: 20_000 },
      http: { connections: 50, duration: 6, warmup: 2, rounds: 3 },
      memory: { sessions: 1_000_000, sweepRuns: 2, watchMs: 2_000 },
      file: { sessions: 1_000_000, openRuns: 3 },
      concurrent: { connections: 50, duration: 2, warmup: 1, rounds: 5, writers: 16, burstSeconds: 1.5 },
      users: { small: 1_000, big: 1_000_000, users: 100, warmupUsers: 10 }
    }

const git = (...args: Array<string>): string | undefined => {
  try {
    return execFileSync("git", args, { cwd: benchPath(".."), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .trim()
  } catch {
    return undefined
  }
}

const machine = (): string => {
  const cpus = OS.cpus()
  const load = OS.loadavg().map((l) => l.toFixed(2)).join(", ")
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown CPU"}), ${
    (OS.totalmem() / 1024 ** 3).toFixed(0)
  } GiB RAM, ${OS.type()} ${OS.release()}, Node ${process.version}; load average ${load}`
}

const summaryTable = (): Table => {
  const table = makeTable(
    "Summary: the targets of issues 6 (Effect 3 line), 12 (Effect 4 line), 13 and 15 (both lines)",
    [
      "section",
      "target",
      "measured",
      "required",
      "result"
    ]
  )
  for (const check of checks) table.rows.push([check.section, check.what, check.measured, check.target, check.verdict])
  const missed = checks.filter((c) => c.verdict === "MISS").length
  table.notes.push(`${checks.length - missed} of ${checks.length} targets met.`)
  return table
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const options = parseArgs(argv)
  const settings = settingsFor(options.quick)
  const started = new Date()
  const t0 = performance.now()
  const log = (line: string) => console.log(line)
  const tables: Array<Table> = []
  let sectionStart = performance.now()
  const show = (table: Table) => {
    tables.push(table)
    console.log(`\n${renderTable(table)}`)
    console.log(`(${((performance.now() - sectionStart) / 1000).toFixed(1)} s)`)
    sectionStart = performance.now()
  }
  const commit = git("rev-parse", "--short", "HEAD")
  const dirty = git("status", "--porcelain", "--untracked-files=no")
  const header = [
    `# effect-session benchmarks${options.quick ? " (--quick: smoke run, sizes reduced, not for quoting)" : ""}`,
    "",
    `- Date: ${started.toISOString()}`,
    `- Machine at start: ${machine()}`,
    `- Code: ${commit ?? "unknown commit"}${dirty !== undefined && dirty !== "" ? " with uncommitted changes" : ""}`,
    `- Command: npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    `- Library: ${
      process.env.BENCH_SOURCES === "1"
        ? "the TypeScript sources as tsx runs them (BENCH_SOURCES=1)"
        : "its build in dist/ (what users run), built by `npm run bench` first"
    }`
  ]
  let effect4: Effect4Run | undefined
  if (options.effect4) {
    if (process.env.BENCH_SOURCES !== "1") {
      buildEffect4(log)
    }
    effect4 = { engines: effect4Engines(), http: effect4HasHttp(), node: nodeVersion(4) }
    header.push(
      `- Effect 4 line: \`packages/effect4\` on Node ${effect4.node}; store engines: ${
        effect4.engines.join(", ") || "none"
      }; HTTP: ${effect4.http ? "yes" : "not on this branch yet (Session, HttpSession)"}`
    )
  } else {
    header.push("- Effect 4 line: left out (--without-effect4)")
  }
  console.log(header.join("\n"))
  sectionStart = performance.now()

  if (options.only.includes("store")) {
    for (const id of GROUP_IDS) {
      log(`\n== 1. store level: ${id}`)
      show(await runStoreGroup(id, settings.store, effect4))
    }
  }
  if (options.only.includes("http")) {
    log("\n== 2. HTTP level")
    show(await runHttp({ ...settings.http, log }, effect4))
  }
  if (options.only.includes("memory")) {
    log("\n== 3. memory and pauses")
    show(await runMemory({ ...settings.memory, log }, effect4))
  }
  if (options.only.includes("file")) {
    log("\n== 4. FileStore log")
    show(await runFile({ ...settings.file, log }, effect4))
  }
  if (options.only.includes("concurrent")) {
    log("\n== 5. concurrent requests (issue 13)")
    for (const table of await runConcurrent({ ...settings.concurrent, log }, effect4)) show(table)
  }
  if (options.only.includes("users")) {
    log("\n== 6. a user's sessions (issue 15)")
    show(await runUsers({ ...settings.users, log }, effect4))
  }
  const summary = summaryTable()
  show(summary)
  const seconds = Math.round((performance.now() - t0) / 1000)
  const footer = `Finished in ${seconds} s; load average at the end: ${
    OS.loadavg().map((l) => l.toFixed(2)).join(", ")
  } (${OS.cpus().length} cores).`
  console.log(footer)
  mkdirSync(Path.dirname(options.out), { recursive: true })
  writeFileSync(
    options.out,
    [
      ...header,
      "",
      "Ratios come from the same run (each round measures every subject in alternation); compare them, not absolute numbers across machines. Generated by `bench/run.ts`.",
      "",
      renderTable(summary),
      ...tables.filter((t) => t !== summary).map(renderTable),
      footer,
      ""
    ].join("\n")
  )
  console.log(`written to ${Path.relative(process.cwd(), options.out)}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}
