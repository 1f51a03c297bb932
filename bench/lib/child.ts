/**
 * Child processes of the benchmark: every measured part runs in a fresh Node process (its own heap, its own event
 * loop), started with `--import tsx`, reporting its result over IPC. Children that are still running when the
 * benchmark exits (a crash, Ctrl-C) are killed with it.
 */
import { type ChildProcess, fork } from "node:child_process"
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

export interface ChildOptions {
  readonly execArgv?: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** Kills the child after this long. */
  readonly timeoutMs?: number
}

/** Runs `bench/<script>` with `input` (as JSON in argv) and resolves with the value it reports. */
export const runChild = <A>(script: string, input: unknown, options: ChildOptions = {}): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const child = fork(benchPath(script), [JSON.stringify(input)], {
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
      else reject(new Error(`${script}: ${failure ?? `exited with ${signal ?? code} and no result`}`))
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
