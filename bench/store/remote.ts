/**
 * Store-level subjects that live in another process: the Effect 4 line's stores run on Node 22, while the group
 * (the peers, the Effect 3 line, the alternation of `runGroup`) runs on the benchmark's Node. A `RemoteHost` is that
 * other process, started once per group; each of its subjects is a `Subject` here whose `open`, `run` and `close`
 * are messages to the host, which runs the same workload (rebuilt from the same seed) and answers with the
 * `RunResult`. Only one message is in flight at a time, so the host sits idle while other subjects are measured.
 *
 * Both sides are here; the host's side (`serveSubjects`) imports no Effect.
 */
import { type ChildProcess, fork } from "node:child_process"
import { killOnExit, type Line, NODE_IMPORTS, nodeFor, scriptPath } from "../lib/child.js"
import type { Limit, RunResult } from "../lib/drivers.js"
import { makeWorkload, type Workload, type WorkloadSpec, workloadSpec } from "../lib/workload.js"
import type { Instance, Subject } from "./subject.js"

/** The engines a host can open (the same engines and settings as the Effect 3 subjects in `groups.ts`). */
export type RemoteSpec =
  | { readonly engine: "memory" }
  | { readonly engine: "redis"; readonly url: string; readonly prefix: string }
  | { readonly engine: "file"; readonly sync: "always" | "everysec" | "never" }

type Request =
  | {
    readonly type: "open"
    readonly id: number
    readonly name: string
    readonly spec: RemoteSpec
    readonly workload: WorkloadSpec
  }
  // `ms: null` is `Infinity` (JSON has no Infinity)
  | {
    readonly type: "run"
    readonly id: number
    readonly handle: number
    readonly concurrency: number
    readonly limit: { readonly ops: number; readonly ms: number | null }
  }
  | { readonly type: "close"; readonly id: number; readonly handle: number }
  | { readonly type: "exit" }

type Reply =
  | { readonly type: "ready" }
  | { readonly type: "ok"; readonly id: number; readonly value: unknown }
  | { readonly type: "error"; readonly id: number; readonly error: string }

export interface RemoteHostOptions {
  /** Runs the line's TypeScript sources instead of its build (the tests: no build needed). */
  readonly sources?: boolean
  /** More options for the host's Node (e.g. `--cpu-prof`). */
  readonly execArgv?: ReadonlyArray<string>
}

/** The parent's side: a host process and the subjects it runs. */
export class RemoteHost {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (e: Error) => void }>()

  private constructor(private readonly child: ChildProcess, readonly line: Line) {
    child.on("message", (reply: Reply) => {
      if (reply.type === "ready") return
      const waiter = this.waiting.get(reply.id)
      this.waiting.delete(reply.id)
      if (reply.type === "ok") waiter?.resolve(reply.value)
      else waiter?.reject(new Error(`effect${line} store host: ${reply.error}`))
    })
    child.once("exit", (code, signal) => {
      for (const { reject } of this.waiting.values()) {
        reject(new Error(`the effect${line} store host exited with ${signal ?? code}`))
      }
      this.waiting.clear()
    })
  }

  /** Starts `script` (a host calling `serveSubjects`) of `line` and waits until it is ready. */
  static start(line: Line, script: string, options: RemoteHostOptions = {}): Promise<RemoteHost> {
    return new Promise((resolve, reject) => {
      const child = fork(scriptPath(line, script), [], {
        execPath: nodeFor(line),
        execArgv: [
          ...(options.sources === true ? ["--import", "tsx"] : NODE_IMPORTS),
          "--expose-gc",
          ...(options.execArgv ?? [])
        ],
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      killOnExit(child)
      const onExit = (code: number | null) => reject(new Error(`the effect${line} store host exited with ${code}`))
      child.once("exit", onExit)
      child.once("message", () => {
        child.off("exit", onExit)
        resolve(new RemoteHost(child, line))
      })
    })
  }

  private call<A>(request: Request & { readonly id: number }): Promise<A> {
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send(request)
    })
  }

  /** A subject that the host opens with `spec` and runs. */
  subject(name: string, spec: RemoteSpec): Subject {
    return {
      name,
      open: async (workload: Workload): Promise<Instance> => {
        const handle = await this.call<number>({
          type: "open",
          id: this.next++,
          name,
          spec,
          workload: workloadSpec(workload)
        })
        return {
          run: async (concurrency: number, limit: Limit) => {
            const result = await this.call<RunResult>({
              type: "run",
              id: this.next++,
              handle,
              concurrency,
              limit: { ops: limit.ops, ms: Number.isFinite(limit.ms) ? limit.ms : null }
            })
            // NaN travels as null
            return { ...result, p50: result.p50 ?? Number.NaN, p99: result.p99 ?? Number.NaN }
          },
          close: () => this.call<void>({ type: "close", id: this.next++, handle })
        }
      }
    }
  }

  /** Ends the host (its subjects should be closed first). */
  dispose(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve()
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000)
      this.child.once("exit", () => {
        clearTimeout(timer)
        resolve()
      })
      this.child.send({ type: "exit" } satisfies Request)
    })
  }
}

/**
 * The host's side: answers the parent's messages with `open` (which builds a subject from its name and spec),
 * until told to exit. A full GC before every measured run, as `runGroup` does in its own process.
 */
export const serveSubjects = (open: (name: string, spec: RemoteSpec) => Subject): void => {
  const instances = new Map<number, Instance>()
  const workloads = new Map<string, Workload>()
  let nextHandle = 0
  const gc = (): void => (globalThis as { gc?: () => void }).gc?.()
  const handle = async (request: Exclude<Request, { readonly type: "exit" }>): Promise<unknown> => {
    switch (request.type) {
      case "open": {
        const { workload: spec } = request
        const key = JSON.stringify(spec)
        let workload = workloads.get(key)
        if (workload === undefined) {
          workload = makeWorkload(spec.sessions, spec.ops, spec.seed, spec.expiresAt)
          workloads.set(key, workload)
        }
        const instance = await open(request.name, request.spec).open(workload)
        instances.set(nextHandle, instance)
        return nextHandle++
      }
      case "run": {
        const instance = instances.get(request.handle)
        if (instance === undefined) throw new Error(`no open subject ${request.handle}`)
        gc()
        return instance.run(request.concurrency, { ops: request.limit.ops, ms: request.limit.ms ?? Infinity })
      }
      case "close": {
        const instance = instances.get(request.handle)
        instances.delete(request.handle)
        await instance?.close()
        return undefined
      }
    }
  }
  process.on("message", (request: Request) => {
    if (request.type === "exit") process.exit(0)
    handle(request).then(
      (value) => process.send!({ type: "ok", id: request.id, value } satisfies Reply),
      (error) =>
        process.send!(
          {
            type: "error",
            id: request.id,
            error: error instanceof Error ? error.stack ?? error.message : String(error)
          } satisfies Reply
        )
    )
  })
  process.send!({ type: "ready" } satisfies Reply)
}
