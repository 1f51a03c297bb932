/**
 * The current time for the per-request paths (every session operation and store command reads it).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"

/**
 * `f` of the `Clock`'s current epoch milliseconds: one fiber step where `Effect.flatMap(Clock.currentTimeMillis, f)`
 * takes three. The same `Clock` service, so a `TestClock` is obeyed.
 *
 * @internal
 */
export const withNow = <A, E, R>(f: (now: number) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Clock.clockWith((clock) => f(clock.unsafeCurrentTimeMillis()))
