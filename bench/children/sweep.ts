/**
 * Child process: the longest event-loop stall (`perf_hooks.monitorEventLoopDelay`) while `sessions` expired
 * sessions are swept.
 *
 * - `MemStore` (Effect 3; `packages/effect4/bench/children/sweep.ts` is Effect 4's): a store with a 1-second cleanup
 *   interval is filled with sessions that expire in an hour, then its Effect `Clock` is moved two hours ahead (a
 *   `Clock` of real time plus an offset: the cleanup fiber keeps its real timers), so that every session is expired
 *   at the next cleanup. The stall is measured from that moment until the store is empty, and for `watchMs` more
 *   (the garbage collections that follow).
 * - `memorystore` (for comparison, no target): filled with sessions whose TTL has passed, then pruned the way its
 *   `checkPeriod` timer prunes (one `prune()` call).
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import session from "express-session"
import createMemoryStore from "memorystore"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as Codec from "../../src/core/codec.js"
import * as MemStore from "../../src/MemStore.js"
import { childMain } from "../lib/child.js"
import { HOUR_MS, settleAfterFill, sleep, type SweepInput, type SweepOutput, watchSweep } from "../lib/memory.js"
import { DAY_MS, expressSession, makeToken, prng, sessionRecord, sessionValues } from "../lib/workload.js"

export type { SweepInput, SweepOutput } from "../lib/memory.js"

/** A `Clock` of real time plus an adjustable offset, with real sleeps. */
const shiftedClock = () => {
  const base = Clock.make()
  let offset = 0
  const now = () => Date.now() + offset
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(now()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
  return { clock, shift: (ms: number) => void (offset += ms) }
}

const sweepMemStore = async (sessions: number, watchMs: number): Promise<SweepOutput> => {
  const { clock, shift } = shiftedClock()
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.withClock(effect, clock))
  const scope = Effect.runSync(Scope.make())
  const store = await run(Scope.extend(MemStore.make({ cleanupInterval: "1 second" }), scope))
  const random = prng(11)
  const expiresAt = Date.now() + HOUR_MS
  const expiry = DateTime.unsafeMake(expiresAt)
  await run(Effect.gen(function*() {
    for (let i = 0; i < sessions; i++) {
      yield* store.save(makeToken(random), Codec.encode(sessionRecord(i, expiresAt)), expiry)
    }
  }))
  await settleAfterFill()
  const result = await watchSweep(() => shift(2 * HOUR_MS), () => run(store.size), watchMs)
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return result
}

const sweepMemorystore = async (sessions: number, watchMs: number): Promise<SweepOutput> => {
  const MemoryStore = createMemoryStore(session)
  // every session expires 1 ms after it is saved; prune runs when we call it (as its checkPeriod timer would)
  const store = new MemoryStore({ checkPeriod: DAY_MS, ttl: 1 })
  const random = prng(11)
  const expires = Date.now() + DAY_MS
  for (let i = 0; i < sessions; i += 1000) {
    const batch: Array<Promise<void>> = []
    for (let j = i; j < Math.min(sessions, i + 1000); j++) {
      batch.push(
        new Promise<void>((resolve) =>
          store.set(makeToken(random), expressSession(sessionValues(j), expires) as any, () => resolve())
        )
      )
    }
    await Promise.all(batch)
  }
  await settleAfterFill()
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  await sleep(50)
  const t0 = performance.now()
  store.prune()
  const sweepMs = performance.now() - t0
  await sleep(watchMs)
  histogram.disable()
  store.stopInterval()
  return { maxStallMs: histogram.max / 1e6, p99StallMs: histogram.percentile(99) / 1e6, sweepMs }
}

childMain<SweepInput, SweepOutput>(({ sessions, subject, watchMs }) =>
  subject === "MemStore" ? sweepMemStore(sessions, watchMs) : sweepMemorystore(sessions, watchMs)
)
