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

/**
 * A command in flight: a node of its runner's list of pending commands. The list is in the order the commands were
 * sent, which is also the order of their deadlines (every command of a runner gets the same bound), so the oldest
 * command is always the first to expire.
 */
interface Pending {
  prev: Pending | undefined
  next: Pending | undefined
  /** `performance.now()` after which the command fails with `Timeout`. */
  readonly deadline: number
  readonly method: string
  readonly resume: (effect: Effect.Effect<never, SessionStoreError>) => void
  /** Whether the command is still in the list (not answered, not timed out). */
  linked: boolean
}

/**
 * The deadlines of a runner's commands, enforced by one timer for all of them rather than one timer per command: no
 * timer to create and clear per command, and one place that knows what is pending (for `release` and the tests).
 *
 * The timer is armed for the oldest pending command; when it fires, every command whose deadline has passed fails
 * with `Timeout`, and it is armed again for the oldest command left. A command that is answered first leaves the
 * list in O(1) and the timer is left as it is: it fires at most `timeoutMs` later and finds nothing, or finds the
 * commands sent since. The timer holds the process open only while some command is pending.
 *
 * A command whose fiber is interrupted stays in the list until its reply comes or its deadline passes, whichever is
 * first (resuming an interrupted fiber does nothing): removing it at once would need an interruption finalizer on
 * every command, and that finalizer (`Effect.async` returning a canceler) measured about 1 to 2.5 µs per command,
 * more than the rest of the store's work for it. So an interrupted command is held for at most `timeoutMs`, and
 * once the store is released the timer no longer holds the process open for it.
 *
 * @internal
 */
export class Deadlines {
  private head: Pending | undefined = undefined
  private tail: Pending | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Whether the timer holds the process open (it does while some command is pending, until `release`). */
  private refed = false
  private released = false

  constructor(private readonly timeoutMs: number) {}

  /** How many commands are pending, and whether the timer holds the process open (for tests). */
  get state(): { readonly pending: number; readonly holdsProcess: boolean } {
    let pending = 0
    for (let entry = this.head; entry !== undefined; entry = entry.next) pending++
    return { pending, holdsProcess: this.timer?.hasRef() ?? false }
  }

  add(method: string, resume: Pending["resume"]): Pending {
    const entry: Pending = {
      prev: this.tail,
      next: undefined,
      deadline: performance.now() + this.timeoutMs,
      method,
      resume,
      linked: true
    }
    if (this.tail === undefined) this.head = entry
    else this.tail.next = entry
    this.tail = entry
    if (this.timer === undefined) this.arm(this.timeoutMs)
    else if (!this.refed && !this.released) {
      this.timer.ref()
      this.refed = true
    }
    return entry
  }

  /**
   * The store is released: the commands still pending keep their deadlines, but the timer no longer holds the
   * process open (an interrupted command may be among them).
   */
  release(): void {
    this.released = true
    this.timer?.unref()
    this.refed = false
  }

  /** Takes the command out of the list: true when it was still pending (its reply is the first outcome). */
  settle(entry: Pending): boolean {
    if (!entry.linked) return false
    this.unlink(entry)
    if (this.head === undefined && this.refed) {
      this.timer?.unref()
      this.refed = false
    }
    return true
  }

  private unlink(entry: Pending): void {
    entry.linked = false
    if (entry.prev === undefined) this.head = entry.next
    else entry.prev.next = entry.next
    if (entry.next === undefined) this.tail = entry.prev
    else entry.next.prev = entry.prev
    entry.prev = undefined
    entry.next = undefined
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(ms)))
    if (this.released) this.timer.unref()
    this.refed = !this.released
  }

  private readonly expire = (): void => {
    this.timer = undefined
    this.refed = false
    const now = performance.now()
    let entry = this.head
    // Node's timers count whole milliseconds: one may fire a fraction of a millisecond before the deadline
    while (entry !== undefined && entry.deadline <= now + 1) {
      this.unlink(entry)
      entry.resume(Effect.fail(
        new SessionStoreError({
          reason: "Timeout",
          method: entry.method,
          description: `Redis did not answer within ${this.timeoutMs} ms`
        })
      ))
      entry = this.head
    }
    if (entry !== undefined) this.arm(entry.deadline - now)
  }
}

/** @internal */
export interface Runner {
  readonly client: Client
  /** The deadline of one round trip, in milliseconds of real time. */
  readonly timeoutMs: number
  /** The last connection error the client emitted, for error descriptions. */
  readonly lastError: () => Error | undefined
  readonly isClosed: () => boolean
  readonly deadlines: Deadlines
}

/** @internal */
export const makeRunner = (options: Omit<Runner, "deadlines">): Runner => ({
  ...options,
  deadlines: new Deadlines(options.timeoutMs)
})

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

const identity = <A>(a: A): A => a

/**
 * Runs one round trip to Redis: fails with `Closed` once the store is released, maps rejections to
 * `SessionStoreError`, and fails with `Timeout` when no answer came within `timeoutMs`. `onReply` turns the reply
 * into the result (a throw fails like a rejection).
 *
 * The deadline is a real timer, not the Effect `Clock`: it bounds waiting on the network, so it holds under
 * `TestClock` too. On timeout or interruption the promise is abandoned (its rejection is still handled). The
 * deadlines of a runner share one timer (see `Deadlines`).
 *
 * @internal
 */
export const roundTrip: {
  <A>(runner: Runner, method: string, evaluate: () => Promise<A>): Effect.Effect<A, SessionStoreError>
  <A, B>(
    runner: Runner,
    method: string,
    evaluate: () => Promise<A>,
    onReply: (reply: A) => B
  ): Effect.Effect<B, SessionStoreError>
} = <A, B>(
  runner: Runner,
  method: string,
  evaluate: () => Promise<A>,
  onReply: (reply: A) => B = identity as (reply: A) => B
): Effect.Effect<B, SessionStoreError> =>
  // a register function of one parameter that returns nothing: Effect adds neither an AbortController nor an
  // interruption finalizer (see `Deadlines` for what interruption leaves behind)
  Effect.async<B, SessionStoreError>((resume) => {
    if (runner.isClosed()) {
      resume(Effect.fail(closedError(method)))
      return
    }
    let promise: Promise<A>
    try {
      promise = evaluate()
    } catch (error) {
      resume(Effect.fail(toStoreError(runner, method, error)))
      return
    }
    const deadlines = runner.deadlines
    const entry = deadlines.add(method, resume)
    promise.then(
      (reply) => {
        if (!deadlines.settle(entry)) return
        let result: B
        try {
          result = onReply(reply)
        } catch (error) {
          // the deadline is gone: a throw here must still resume the fiber
          resume(Effect.fail(toStoreError(runner, method, error)))
          return
        }
        resume(Effect.succeed(result))
      },
      (error) => {
        if (deadlines.settle(entry)) resume(Effect.fail(toStoreError(runner, method, error)))
      }
    )
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
