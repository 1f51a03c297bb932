/**
 * The loops that run a workload against a subject and time every operation: one for callback / promise subjects
 * (the Node peers), one for synchronous ceilings, and `RunClock`, the shared bookkeeping that each Effect line's own
 * loop uses (`bench/lib/runEffect.ts` on Effect 3, `packages/effect4/bench/lib/runEffect.ts` on Effect 4). This
 * module imports no Effect, so that both lines' children can load it. They share the same rules:
 *
 * - `concurrency` workers take the next operation from a shared counter until `limit.ops` operations were started
 *   or `limit.ms` milliseconds have passed (whatever comes first; slow peers stop on time), then finish what they
 *   started. `concurrency: 1` is the sequential mode.
 * - Each operation's latency is `performance.now()` after minus before, in milliseconds.
 */
import { percentiles } from "./stats.js"

export interface Limit {
  readonly ops: number
  readonly ms: number
}

export interface RunResult {
  /** Operations completed. */
  readonly ops: number
  readonly ms: number
  readonly opsPerSec: number
  readonly p50: number
  readonly p99: number
}

/** The bookkeeping of one run: which operation comes next, when to stop, every operation's latency. */
export class RunClock {
  private readonly latencies: Float64Array
  private next = 0
  private stopped = false
  private readonly start = performance.now()

  constructor(private readonly limit: Limit) {
    this.latencies = new Float64Array(limit.ops)
  }

  /** The index of the next operation to start, or -1 once the run is over (all started, or out of time). */
  take(): number {
    if (this.stopped || this.next >= this.limit.ops) return -1
    if ((this.next & 255) === 0 && performance.now() - this.start > this.limit.ms) {
      this.stopped = true
      return -1
    }
    return this.next++
  }

  /** Records that operation `k`, started at `t0` (`performance.now()`), has finished. */
  done(k: number, t0: number): void {
    this.latencies[k] = performance.now() - t0
  }

  result(): RunResult {
    const ms = performance.now() - this.start
    const [p50, p99] = percentiles(this.latencies, this.next, [0.5, 0.99])
    return { ops: this.next, ms, opsPerSec: this.next / (ms / 1000), p50: p50!, p99: p99! }
  }
}

/** A callback-style operation: calls `done` once, with an error or without. */
export type CallbackOp = (k: number, done: (error?: unknown) => void) => void

/** Runs `op(k)` for k = 0, 1, ... with `concurrency` asynchronous workers. */
export const runCallback = (op: CallbackOp, concurrency: number, limit: Limit): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const run = new RunClock(limit)
    let failed = false
    let running = concurrency
    const finish = () => {
      if (--running === 0 && !failed) resolve(run.result())
    }
    const worker = () => {
      // a trampoline: an operation that calls back synchronously does not grow the stack
      for (;;) {
        if (failed) return
        const k = run.take()
        if (k < 0) return finish()
        const t0 = performance.now()
        let inline = true
        let doneInline = false
        op(k, (error) => {
          if (error !== undefined && error !== null) {
            if (!failed) {
              failed = true
              reject(error)
            }
            return
          }
          run.done(k, t0)
          if (inline) doneInline = true
          else worker()
        })
        inline = false
        if (!doneInline) return
      }
    }
    for (let i = 0; i < concurrency; i++) worker()
  })

/** Runs a synchronous `op(k)` in a plain loop (the ceilings: nothing to wait for, so no concurrency). */
export const runSync = (op: (k: number) => void, limit: Limit): RunResult => {
  const run = new RunClock(limit)
  for (let k = run.take(); k >= 0; k = run.take()) {
    const t0 = performance.now()
    op(k)
    run.done(k, t0)
  }
  return run.result()
}

/** Adapts a promise-returning operation to the callback driver. */
export const fromPromise = (op: (k: number) => Promise<unknown>): CallbackOp => (k, done) => {
  op(k).then(() => done(), (error) => done(error ?? new Error("rejected")))
}
