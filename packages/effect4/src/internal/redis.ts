/**
 * RedisStore's Effect 4 glue: the engine's callbacks as effects, its failures as `SessionStoreError`s. Everything
 * else (deadlines, error mapping, keys, cluster coverage) is in `src/core/redis*.ts`, shared with the Effect 3 line.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RedisFailure } from "../core/redisErrors.js"
import type { Done } from "../core/redisRoundTrip.js"
import { SessionStoreError } from "../Store.js"

/** @internal */
export const toError = (failure: RedisFailure): SessionStoreError => new SessionStoreError(failure)

/**
 * An effect of one engine operation: `register` starts it with the callback that receives its outcome (called
 * exactly once, within the engine's deadline), and `onValue` turns the value into the result.
 *
 * The register function takes one parameter and returns nothing, so Effect adds neither an AbortSignal nor an
 * interruption finalizer: an interrupted operation is left to its deadline (see `core/redisRoundTrip.ts`).
 *
 * @internal
 */
export const fromCallback = <A, B = A>(
  register: (done: Done<A>) => void,
  onValue?: (value: A) => B
): Effect.Effect<B, SessionStoreError> =>
  Effect.callback<B, SessionStoreError>((resume) =>
    register((failure, value) =>
      resume(
        failure !== undefined
          ? Effect.fail(toError(failure))
          : Effect.succeed(onValue === undefined ? value as B : onValue(value as A))
      )
    )
  )
