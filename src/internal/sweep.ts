/**
 * The Effect side of the memory index: sweeping expired entries in slices that yield to the event loop.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { IndexEntry, MemoryIndex } from "../core/memoryIndex.js"

/**
 * Gives the event loop a turn (I/O callbacks, timers) and resumes. Unlike `Effect.sleep(0)` it does not depend on
 * the `Clock`, so it also makes progress under `TestClock`.
 *
 * @internal
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Sweeps expired entries in slices of at most `sliceMs` of work, yielding to the event loop between slices, so a
 * sweep of a million sessions never blocks other fibers for long.
 *
 * @internal
 */
export const sweepExpired = <D>(
  index: MemoryIndex<D>,
  now: number,
  onRemove?: (entry: IndexEntry<D>) => void,
  sliceMs = 5
): Effect.Effect<void> =>
  Effect.suspend(function loop(): Effect.Effect<void> {
    return index.sweepSome(now, sliceMs, onRemove)
      ? Effect.void
      : Effect.zipRight(yieldToEventLoop, Effect.suspend(loop))
  })
