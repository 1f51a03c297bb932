/**
 * The errors FileStore fails with, all `SessionStoreError`s.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as PlatformError from "effect/PlatformError"
import * as Store from "../Store.js"

/** @internal */
export const closed = (method: string): Store.SessionStoreError =>
  new Store.SessionStoreError({ reason: "Closed", method })

/** @internal */
export const invalid = (method: string, description: string): Store.SessionStoreError =>
  new Store.SessionStoreError({ reason: "InvalidInput", method, description })

/** @internal */
export const corrupt = (method: string, description: string): Store.SessionStoreError =>
  new Store.SessionStoreError({ reason: "Corrupt", method, description })

/** @internal */
export const io = (method: string, description: string, cause?: unknown): Store.SessionStoreError =>
  new Store.SessionStoreError(
    cause === undefined ? { reason: "Io", method, description } : { reason: "Io", method, description, cause }
  )

/** A file system error, as an `Io` error of `method`, its description prefixed with `what`. @internal */
export const ioError =
  (method: string, what?: string) => (cause: PlatformError.PlatformError): Store.SessionStoreError =>
    io(method, what === undefined ? cause.message : `${what}: ${cause.message}`, cause)

/** An `Io` error of `method` for a defect or an interruption where a write was expected to complete. @internal */
export const unexpected = (method: string, cause: Cause.Cause<unknown>): Store.SessionStoreError =>
  io(method, "cannot append to the log", Cause.squash(cause))

/** Whether a platform error has this reason (`NotFound`, `AlreadyExists`, ...). @internal */
export const isReason = (error: PlatformError.PlatformError, reason: PlatformError.SystemErrorTag): boolean =>
  error.reason._tag === reason

/** Turns the file system errors of `effect` into `Io` errors of `method`; `SessionStoreError`s pass. @internal */
export const orIo = (method: string, what: string) =>
<A, R>(
  effect: Effect.Effect<A, Store.SessionStoreError | PlatformError.PlatformError, R>
): Effect.Effect<A, Store.SessionStoreError, R> =>
  Effect.catchIf(
    effect,
    (error): error is PlatformError.PlatformError => error._tag !== "SessionStoreError",
    (error) => Effect.fail(ioError(method, what)(error))
  )
