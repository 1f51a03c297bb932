/**
 * The loops that run a workload against a subject and time every operation: one for Effect subjects (ours), one
 * for callback / promise subjects (the Node peers), one for synchronous ceilings. They share the same rules:
 *
 * - `concurrency` workers take the next operation from a shared counter until `limit.ops` operations were started
 *   or `limit.ms` milliseconds have passed (whatever comes first; slow peers stop on time), then finish what they
 *   started. `concurrency: 1` is the sequential mode.
 * - Each operation's latency is `performance.now()` after minus before, in milliseconds.
 */
import * as Effect from "effect/Effect"
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

const summarize = (latencies: Float64Array, ops: number, ms: number): RunResult => {
  const [p50, p99] = percentiles(latencies, ops, [0.5, 0.99])
  return { ops, ms, opsPerSec: ops / (ms / 1000), p50: p50!, p99: p99! }
}

/** Runs `op(k)` for k = 0, 1, ... in an Effect program, with `concurrency` fibers. */
export const runEffect = <E, R>(
  op: (k: number) => Effect.Effect<unknown, E, R>,
  concurrency: number,
  limit: Limit
): Effect.Effect<RunResult, E, R> =>
  Effect.suspend(() => {
    const latencies = new Float64Array(limit.ops)
    let next = 0
    let stopped = false
    const start = performance.now()
    const worker = Effect.suspend(function loop(): Effect.Effect<void, E, R> {
      if (stopped || next >= limit.ops) return Effect.void
      if ((next & 255) === 0 && performance.now() - start > limit.ms) {
        stopped = true
        return Effect.void
      }
      const k = next++
      const t0 = performance.now()
      return Effect.flatMap(op(k), () => {
        latencies[k] = performance.now() - t0
        return loop()
      })
    })
    const all = concurrency === 1
      ? worker
      : Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    return Effect.map(all, () => summarize(latencies, next, performance.now() - start))
  })

/** A callback-style operation: calls `done` once, with an error or without. */
export type CallbackOp = (k: number, done: (error?: unknown) => void) => void

/** Runs `op(k)` for k = 0, 1, ... with `concurrency` asynchronous workers. */
export const runCallback = (op: CallbackOp, concurrency: number, limit: Limit): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const latencies = new Float64Array(limit.ops)
    let next = 0
    let stopped = false
    let failed = false
    let running = concurrency
    const start = performance.now()
    const finish = () => {
      if (--running === 0 && !failed) resolve(summarize(latencies, next, performance.now() - start))
    }
    const worker = () => {
      // a trampoline: an operation that calls back synchronously does not grow the stack
      for (;;) {
        if (failed) return
        if (stopped || next >= limit.ops) return finish()
        if ((next & 255) === 0 && performance.now() - start > limit.ms) {
          stopped = true
          return finish()
        }
        const k = next++
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
          latencies[k] = performance.now() - t0
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
  const latencies = new Float64Array(limit.ops)
  const start = performance.now()
  let k = 0
  for (; k < limit.ops; k++) {
    if ((k & 255) === 0 && performance.now() - start > limit.ms) break
    const t0 = performance.now()
    op(k)
    latencies[k] = performance.now() - t0
  }
  return summarize(latencies, k, performance.now() - start)
}

/** Adapts a promise-returning operation to the callback driver. */
export const fromPromise = (op: (k: number) => Promise<unknown>): CallbackOp => (k, done) => {
  op(k).then(() => done(), (error) => done(error ?? new Error("rejected")))
}
