/**
 * What both lines' `SessionError` share: its reasons, its message, and how the HTTP adapters answer one that the
 * handler left unhandled.
 *
 * @internal
 */

/** @internal */
export const REASONS = [
  "StoreUnavailable",
  "Corrupt",
  "Decode",
  "Encode",
  "InvalidOptions",
  "Conflict",
  "Committed"
] as const

/** @internal */
export type Reason = typeof REASONS[number]

/** The error's message: `Session: <reason> (key "<key>"): <description>`, for logs. @internal */
export const message = (reason: Reason, key: string | undefined, description: string | undefined): string =>
  `Session: ${reason}${key === undefined ? "" : ` (key "${key}")`}${
    description === undefined ? "" : `: ${description}`
  }`

/**
 * The status of the empty response that answers a `SessionError` the handler did not handle: 503 when the store
 * failed or the session met too many concurrent changes (the request may succeed later), 500 for anything else. The body stays empty: no internals reach the client.
 *
 * @internal
 */
export const httpStatus = (reason: Reason): 503 | 500 =>
  reason === "StoreUnavailable" || reason === "Conflict" ? 503 : 500

/**
 * Whether the session logged the failure where it happened (a store failure is logged at once, handled or not, as
 * an operational event); the adapters log the others when they answer for them, so each is logged once.
 *
 * @internal
 */
export const loggedWhereItHappened = (reason: Reason): boolean =>
  reason === "StoreUnavailable" || reason === "Committed"
