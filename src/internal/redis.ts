/**
 * RedisStore internals: the bounded command runner, error classification, the SCAN pattern, and closing an owned
 * client. Nothing here imports `ioredis` at run time (it is an optional peer dependency).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Cluster, Redis } from "ioredis"
import { SessionStoreError, type SessionStoreErrorReason } from "../Store.js"

/** @internal */
export type Client = Redis | Cluster

/** @internal */
export const isCluster = (client: Client): client is Cluster => client.isCluster === true

/**
 * Escapes the glob characters of Redis `MATCH` patterns (`*`, `?`, `[`, `]`, `\`), so a prefix such as `"a*:"`
 * matches only keys that start with those exact characters.
 *
 * @internal
 */
export const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

/** Reply errors that mean "the server is there but cannot serve right now", not "your command is wrong". @internal */
const unavailableReply = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|BUSY)\b/

/** @internal */
export const isRedirect = (error: unknown): boolean =>
  error instanceof Error && error.name === "ReplyError" && /^(MOVED|ASK) /.test(error.message)

/**
 * The reason for an error raised by ioredis.
 *
 * - `ReplyError`: the server answered with an error: `Io`, except the replies of a server that is loading or a
 *   cluster that is down, which are `Unreachable`.
 * - ioredis' own `Command timed out` (`commandTimeout`): `Timeout`.
 * - a client whose status is `end` (quit, or its `retryStrategy` gave up): `Closed`.
 * - programming errors (`TypeError`, `RangeError`...): `Io`.
 * - everything else ioredis rejects with is about the connection (`ECONNREFUSED`, `MaxRetriesPerRequestError`,
 *   aborted commands, `Stream isn't writeable...`, `ClusterAllFailedError`, `None of startup nodes is
 *   available`...): `Unreachable`.
 *
 * @internal
 */
export const reasonOf = (error: unknown, client: Client): SessionStoreErrorReason => {
  if (!(error instanceof Error)) return "Io"
  if (error.name === "ReplyError") return unavailableReply.test(error.message) ? "Unreachable" : "Io"
  if (error.message === "Command timed out") return "Timeout"
  if (client.status === "end") return "Closed"
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return "Io"
  return "Unreachable"
}

/** @internal */
export interface Runner {
  readonly client: Client
  /** The deadline of one round trip, in milliseconds of real time. */
  readonly timeoutMs: number
  /** The last connection error the client emitted, for error descriptions. */
  readonly lastError: () => Error | undefined
  readonly isClosed: () => boolean
}

/** @internal */
export const closedError = (method: string): SessionStoreError =>
  new SessionStoreError({ reason: "Closed", method, description: "the RedisStore layer has been released" })

/** @internal */
export const toStoreError = (runner: Runner, method: string, error: unknown): SessionStoreError => {
  if (runner.isClosed()) return closedError(method)
  const reason = reasonOf(error, runner.client)
  const message = error instanceof Error ? error.message : String(error)
  let description = message
  if (reason === "Unreachable") {
    // ioredis' MaxRetriesPerRequestError says nothing about the cause: the connection error it follows does
    const notSent = error instanceof Error && error.name === "MaxRetriesPerRequestError"
    const base = notSent ? "the connection to Redis is down" : message
    const last = runner.lastError()
    description = last !== undefined && last.message !== message
      ? `${base} (last connection error: ${last.message})`
      : base
  } else if (reason === "Closed") {
    description = `the Redis client is closed (${message})`
  }
  return new SessionStoreError({ reason, method, description, cause: error })
}

/**
 * Runs one round trip to Redis: fails with `Closed` once the store is released, maps rejections to
 * `SessionStoreError`, and fails with `Timeout` when no answer came within `timeoutMs`.
 *
 * The deadline is a real timer, not the Effect `Clock`: it bounds waiting on the network, so it holds under
 * `TestClock` too. On timeout or interruption the promise is abandoned (its rejection is still handled), and the
 * timer is cleared when the promise settles first.
 *
 * @internal
 */
export const roundTrip = <A>(
  runner: Runner,
  method: string,
  evaluate: () => Promise<A>
): Effect.Effect<A, SessionStoreError> =>
  Effect.async<A, SessionStoreError>((resume) => {
    if (runner.isClosed()) {
      resume(Effect.fail(closedError(method)))
      return
    }
    let settled = false
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      resume(Effect.fail(
        new SessionStoreError({
          reason: "Timeout",
          method,
          description: `Redis did not answer within ${runner.timeoutMs} ms`
        })
      ))
    }, runner.timeoutMs)
    const onSuccess = (value: A) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(Effect.succeed(value))
    }
    const onFailure = (error: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(Effect.fail(toStoreError(runner, method, error)))
    }
    try {
      evaluate().then(onSuccess, onFailure)
    } catch (error) {
      onFailure(error)
    }
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
    })
  })

/**
 * Waits (within the deadline) until a Cluster client knows its nodes: right after construction, or while it
 * reconnects, `nodes("master")` is empty and a SCAN over it would silently return nothing.
 *
 * @internal
 */
export const clusterReady = (cluster: Cluster): Promise<void> => {
  if (cluster.status === "ready") return Promise.resolve()
  if (cluster.status === "end") return Promise.reject(new Error("Connection is closed."))
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      cluster.off("end", onEnd)
      resolve()
    }
    const onEnd = () => {
      cluster.off("ready", onReady)
      reject(new Error("Connection is closed."))
    }
    cluster.once("ready", onReady)
    cluster.once("end", onEnd)
    if (cluster.status === "wait") cluster.connect().catch(() => {})
  })
}

const nodeKey = (node: Redis): string => `${node.options.host}:${node.options.port}`

const uncovered = (cluster: Cluster): { readonly slots: number; readonly missing: ReadonlyArray<string> } => {
  const connected = new Set(cluster.nodes("master").map(nodeKey))
  const missing = new Set<string>()
  let slots = 0
  for (let slot = 0; slot < 16384; slot++) {
    const master = cluster.slots[slot]?.[0]
    if (master === undefined) slots++
    else if (!connected.has(master)) missing.add(master)
  }
  return { slots, missing: [...missing] }
}

/**
 * The master nodes that together serve every hash slot of a Cluster, ready to be scanned one by one.
 *
 * ioredis drops the connection of a node that went down from `nodes("master")`, so that list alone could make
 * `all` silently skip a master's keys: this checks it against the slot table, refreshes the table once when a
 * master is missing, and fails when some slots still have no master (or no connection to it).
 *
 * @internal
 */
export const clusterMasters = async (cluster: Cluster): Promise<ReadonlyArray<Redis>> => {
  await clusterReady(cluster)
  let gaps = uncovered(cluster)
  if (gaps.slots > 0 || gaps.missing.length > 0) {
    await new Promise<void>((resolve, reject) =>
      cluster.refreshSlotsCache((error) => (error === null || error === undefined ? resolve() : reject(error)))
    )
    gaps = uncovered(cluster)
  }
  if (gaps.slots > 0) throw new Error(`${gaps.slots} hash slots have no master node`)
  if (gaps.missing.length > 0) throw new Error(`no connection to the master node(s) ${gaps.missing.join(", ")}`)
  return cluster.nodes("master")
}

const within = (promise: Promise<unknown>, ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    promise.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      }
    )
  })

/**
 * Closes a client the store created: `QUIT` when connected (pending replies arrive first), then `disconnect`,
 * which also cancels a pending reconnection, so no socket or timer is left behind. Waits at most `timeoutMs` for
 * each step and never fails.
 *
 * @internal
 */
export const closeOwned = async (client: Redis, timeoutMs: number): Promise<void> => {
  if (client.status === "end") return
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()))
  if (client.status === "ready") await within(client.quit(), timeoutMs)
  client.disconnect()
  // when the client was between reconnection attempts, `disconnect` cancels the next one and no "end" follows
  if (client.status !== "reconnecting") await within(ended, timeoutMs)
}
