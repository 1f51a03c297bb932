/**
 * The Effect 3 loop of the store level: runs `op(k)` for k = 0, 1, ... in an Effect program, with `concurrency`
 * fibers, under the rules of `drivers.ts`. The Effect 4 line has the same loop in
 * `packages/effect4/bench/lib/runEffect.ts` (same names, another `effect`).
 */
import * as Effect from "effect/Effect"
import { type Limit, RunClock, type RunResult } from "./drivers.js"

export const runEffect = <E, R>(
  op: (k: number) => Effect.Effect<unknown, E, R>,
  concurrency: number,
  limit: Limit
): Effect.Effect<RunResult, E, R> =>
  Effect.suspend(() => {
    const run = new RunClock(limit)
    const worker = Effect.suspend(function loop(): Effect.Effect<void, E, R> {
      const k = run.take()
      if (k < 0) return Effect.void
      const t0 = performance.now()
      return Effect.flatMap(op(k), () => {
        run.done(k, t0)
        return loop()
      })
    })
    const all = concurrency === 1
      ? worker
      : Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    return Effect.map(all, () => run.result())
  })
