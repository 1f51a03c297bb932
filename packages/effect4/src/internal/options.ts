/**
 * Validation of user-supplied options, turned into typed errors instead of throws.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SessionStoreError } from "../Store.js"

/** @internal */
export const invalidOption = (method: string, description: string): SessionStoreError =>
  new SessionStoreError({ reason: "InvalidInput", method, description })

/** @internal */
export const duration = (
  method: string,
  name: string,
  input: Duration.Input | undefined,
  fallback: Duration.Input
): Effect.Effect<Duration.Duration, SessionStoreError> =>
  Option.match(Duration.fromInput(input ?? fallback), {
    onNone: () => Effect.fail(invalidOption(method, `${name} is not a valid duration: ${String(input)}`)),
    onSome: (d) =>
      Duration.isLessThan(d, Duration.zero)
        ? Effect.fail(invalidOption(method, `${name} must not be negative`))
        : Effect.succeed(d)
  })

/** @internal */
export const positiveInteger = (
  method: string,
  name: string,
  input: number | undefined
): Effect.Effect<number | undefined, SessionStoreError> =>
  input === undefined || (Number.isSafeInteger(input) && input > 0)
    ? Effect.succeed(input)
    : Effect.fail(invalidOption(method, `${name} must be a positive integer, got ${String(input)}`))
