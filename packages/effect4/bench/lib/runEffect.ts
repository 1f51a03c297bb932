/**
 * The Effect 4 loop of the store level: runs `op(k)` for k = 0, 1, ... in an Effect program, with `concurrency`
 * fibers, under the rules of `bench/lib/drivers.ts`. The twin of `bench/lib/runEffect.ts` (Effect 3): same names,
 * the workspace's `effect` 4.
 */
import * as Effect from "effect/Effect"
import { type Limit, RunClock, type RunResult } from "../../../../bench/lib/drivers.js"

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
