/**
 * What a failed round trip to Redis means for a store operation: which errors raised by ioredis are `Unreachable`,
 * `Timeout`, `Closed` or `Io`, and a description that names the cause the user can act on (the last connection
 * error, or that the client is still connecting). Each line's shell turns a `RedisFailure` into its own
 * `SessionStoreError` with the same fields.
 *
 * @internal
 */

/** The reasons a RedisStore operation fails with: a subset of `SessionStoreErrorReason`. @internal */
export type RedisFailureReason = "Unreachable" | "Timeout" | "Closed" | "Io" | "InvalidInput"

/**
 * A failed store operation, with the fields of a `SessionStoreError` (`cause` only when there is one).
 *
 * @internal
 */
export class RedisFailure {
  declare readonly cause?: unknown

  constructor(
    readonly reason: RedisFailureReason,
    readonly method: string,
    readonly description: string,
    cause?: unknown
  ) {
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause
  }
}

/**
 * What the store knows of its client's connection when an operation fails: the client's `status` (`"wait"`,
 * `"connecting"`, `"connect"`, `"ready"`, `"reconnecting"`, `"close"`, `"end"`), the last error it emitted since it
 * was last ready, and where it connects to (`"127.0.0.1:6379"`, `"a Cluster"`; empty when unknown).
 *
 * @internal
 */
export interface ConnectionState {
  readonly status: string
  readonly lastError: Error | undefined
  readonly target: string
  readonly tls: boolean
}

/** Reply errors that mean "the server is there but cannot serve right now", not "your command is wrong". */
const unavailableReply = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|BUSY)\b/

/** Whether `error` is a Cluster redirection (`MOVED` / `ASK`) of one command. @internal */
export const isRedirect = (error: unknown): boolean =>
  error instanceof Error && error.name === "ReplyError" && /^(MOVED|ASK) /.test(error.message)

/**
 * The reason for an error raised by ioredis, given the client's status.
 *
 * - `ReplyError`: the server answered with an error: `Io`, except the replies of a server that is loading or a
 *   cluster that is down, which are `Unreachable`.
 * - ioredis' own `Command timed out` (`commandTimeout`): `Timeout`.
 * - a client whose status is `end` (quit, or its `retryStrategy` gave up): `Closed`.
 * - programming errors (`TypeError`, `RangeError`, `SyntaxError`) and anything not an `Error`: `Io`.
 * - everything else ioredis rejects with is about the connection (`ECONNREFUSED`, `MaxRetriesPerRequestError`,
 *   aborted commands, `Stream isn't writeable...`, `ClusterAllFailedError`, `None of startup nodes is
 *   available`...): `Unreachable`.
 *
 * @internal
 */
export const reasonOf = (error: unknown, status: string): RedisFailureReason => {
  if (!(error instanceof Error)) return "Io"
  if (error.name === "ReplyError") return unavailableReply.test(error.message) ? "Unreachable" : "Io"
  if (error.message === "Command timed out") return "Timeout"
  if (status === "end") return "Closed"
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return "Io"
  return "Unreachable"
}

const connecting = new Set(["wait", "connecting", "connect", "reconnecting"])

/**
 * What the connection says about an operation that found no Redis, appended to its description: the last
 * connection error when there is one (unless `message` already is it); otherwise, for a client that has not
 * reached `ready`, that it is still connecting (and where, and whether over TLS: a `rediss://` URL to a server
 * without TLS hangs in the handshake until the connect timeout, with no error before it).
 *
 * @internal
 */
export const connectionNote = (state: ConnectionState, message?: string): string => {
  const last = state.lastError
  if (last !== undefined) return last.message === message ? "" : ` (last connection error: ${last.message})`
  if (!connecting.has(state.status)) return ""
  const where = state.target === "" ? "" : ` to ${state.target}`
  return ` (the client is still connecting${where}${state.tls ? " over TLS" : ""}, with no connection error so far)`
}

/** The failure of an operation whose round trip was not answered within `timeoutMs` (the store's deadline). @internal */
export const timeoutFailure = (method: string, timeoutMs: number, state: ConnectionState): RedisFailure =>
  new RedisFailure("Timeout", method, `Redis did not answer within ${timeoutMs} ms${connectionNote(state)}`)

/** The failure of an operation on a store whose layer has been released. @internal */
export const closedFailure = (method: string): RedisFailure =>
  new RedisFailure("Closed", method, "the RedisStore layer has been released")

/**
 * The failure of an operation whose round trip raised `error` (a rejection, or a throw while sending or while
 * reading the reply).
 *
 * @internal
 */
export const failureOf = (method: string, error: unknown, state: ConnectionState): RedisFailure => {
  if (error instanceof RedisFailure) return error
  const reason = reasonOf(error, state.status)
  const message = error instanceof Error ? error.message : String(error)
  let description = message
  if (reason === "Unreachable" || reason === "Timeout") {
    // ioredis' MaxRetriesPerRequestError says nothing about the cause: the connection error it follows does
    const notSent = error instanceof Error && error.name === "MaxRetriesPerRequestError"
    description = (notSent ? "the connection to Redis is down" : message) + connectionNote(state, message)
  } else if (reason === "Closed") {
    description = `the Redis client is closed (${message})`
  }
  return new RedisFailure(reason, method, description, error)
}
