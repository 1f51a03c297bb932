/**
 * Child process on Node 22: the longest event-loop stall while the Effect 4 line's MemStore sweeps `sessions`
 * expired sessions, measured as `bench/children/sweep.ts` measures Effect 3's: a store with a 1-second cleanup
 * interval, filled with sessions that expire in an hour, whose `Clock` (real time plus an offset, real sleeps) is
 * then moved two hours ahead.
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { childMain } from "../../../../bench/lib/child.js"
import {
  HOUR_MS,
  settleAfterFill,
  type SweepInput,
  type SweepOutput,
  watchSweep
} from "../../../../bench/lib/memory.js"
import { makeToken, prng, sessionRecord } from "../../../../bench/lib/workload.js"
import * as Codec from "../../src/core/codec.js"
import * as MemStore from "../../src/MemStore.js"

/** A `Clock` of real time plus an adjustable offset, with the default clock's real sleeps. */
const shiftedClock = () => {
  const base = Clock.Clock.defaultValue()
  let offset = 0
  const now = () => Date.now() + offset
  const nanos = () => BigInt(now()) * 1_000_000n
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: now,
    currentTimeMillis: Effect.sync(now),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: base.monotonicTimeNanos,
    sleep: (duration) => base.sleep(duration)
  }
  return { clock, shift: (ms: number) => void (offset += ms) }
}

childMain<SweepInput, SweepOutput>(async ({ sessions, watchMs }) => {
  const { clock, shift } = shiftedClock()
  const run = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.runPromise(Effect.provideService(effect, Clock.Clock, clock))
  const scope = Effect.runSync(Scope.make())
  const store = await run(MemStore.make({ cleanupInterval: "1 second" }).pipe(Scope.provide(scope)))
  const random = prng(11)
  const expiresAt = Date.now() + HOUR_MS
  const expiry = DateTime.makeUnsafe(expiresAt)
  await run(Effect.gen(function*() {
    for (let i = 0; i < sessions; i++) {
      yield* store.save(makeToken(random), Codec.encode(sessionRecord(i, expiresAt)), expiry)
    }
  }))
  await settleAfterFill()
  const result = await watchSweep(() => shift(2 * HOUR_MS), () => run(store.size), watchMs)
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return result
})
