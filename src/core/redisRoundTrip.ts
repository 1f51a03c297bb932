/**
 * Round trips to Redis with a hard deadline, driven by callbacks: each line's shell wraps `RoundTrips.run` in its
 * own `Effect` callback constructor, and everything else (the deadline, the closed check, error mapping, a throwing
 * reply handler) happens here, once for both lines.
 *
 * @internal
 */
import { closedFailure, type ConnectionState, failureOf, RedisFailure, timeoutFailure } from "./redisErrors.js"

/**
 * Receives the outcome of one round trip, exactly once: `(failure)` or `(undefined, value)`.
 *
 * @internal
 */
export type Done<B> = (failure: RedisFailure | undefined, value?: B) => void

/**
 * A command in flight: a node of its list of pending commands. The list is in the order the commands were sent,
 * which is also the order of their deadlines (every command of a `Deadlines` gets the same bound), so the oldest
 * command is always the first to expire.
 */
interface Pending {
  prev: Pending | undefined
  next: Pending | undefined
  /** `performance.now()` after which the command fails with `Timeout`. */
  readonly deadline: number
  readonly method: string
  readonly done: Done<never>
  /** Whether the command is still in the list (not answered, not timed out). */
  linked: boolean
}

/**
 * The deadlines of a store's commands, enforced by one timer for all of them rather than one timer per command: no
 * timer to create and clear per command, and one place that knows what is pending (for `release` and the tests).
 *
 * The timer is armed for the oldest pending command; when it fires, every command whose deadline has passed fails
 * with the failure `onTimeout` makes for it, and the timer is armed again for the oldest command left. A command
 * that is answered first leaves the list in O(1) and the timer is left as it is: it fires at most `timeoutMs` later
 * and finds nothing, or finds the commands sent since. The timer holds the process open only while some command is
 * pending.
 *
 * A command whose fiber is interrupted stays in the list until its reply comes or its deadline passes, whichever is
 * first (resuming an interrupted fiber does nothing): removing it at once would need an interruption finalizer on
 * every command, and that finalizer measured about 1 to 2.5 µs per command on Effect 3, more than the rest of the
 * store's work for it. So an interrupted command is held for at most `timeoutMs`, and once the store is released
 * the timer no longer holds the process open for it.
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

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (method: string) => RedisFailure
  ) {}

  /** How many commands are pending, and whether the timer holds the process open (for tests). */
  get state(): { readonly pending: number; readonly holdsProcess: boolean } {
    let pending = 0
    for (let entry = this.head; entry !== undefined; entry = entry.next) pending++
    return { pending, holdsProcess: this.timer?.hasRef() ?? false }
  }

  /** Starts the deadline of a command: `done` receives the `Timeout` failure unless `settle` comes first. */
  add(method: string, done: Done<never>): Pending {
    const entry: Pending = {
      prev: this.tail,
      next: undefined,
      deadline: performance.now() + this.timeoutMs,
      method,
      done,
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
      entry.done(this.onTimeout(entry.method))
      entry = this.head
    }
    if (entry !== undefined) this.arm(entry.deadline - now)
  }
}

/**
 * What `RoundTrips` asks of the store about its client, at the moment an operation fails (or is sent).
 *
 * @internal
 */
export interface Connection {
  /** The client's status and last connection error, for error descriptions. */
  readonly state: () => ConnectionState
  /** Whether the store has been released (its operations then fail with `Closed`). */
  readonly isClosed: () => boolean
}

/**
 * The round trips of one store: each is bounded by `timeoutMs` of real time (not an Effect `Clock`: it bounds
 * waiting on the network, so it holds under `TestClock` too), fails with `Closed` once the store is released, and
 * maps every rejection or throw to a `RedisFailure`. On timeout the command's promise is abandoned, and its
 * rejection is still handled.
 *
 * @internal
 */
export class RoundTrips {
  readonly deadlines: Deadlines

  constructor(readonly timeoutMs: number, private readonly connection: Connection) {
    this.deadlines = new Deadlines(timeoutMs, (method) => timeoutFailure(method, timeoutMs, connection.state()))
  }

  /** The failure for `error` raised by a round trip of `method` (a `RedisFailure` is kept as it is). */
  failure(method: string, error: unknown): RedisFailure {
    return this.connection.isClosed() ? closedFailure(method) : failureOf(method, error, this.connection.state())
  }

  /**
   * Sends one command (`evaluate`) and hands `done` its reply turned by `onReply` into the result (a throw in
   * `onReply` fails like a rejection), or a failure: `Closed` at once when the store is released, a mapped
   * rejection, or `Timeout` when no answer came within `timeoutMs`. `done` is called exactly once.
   */
  run<A, B>(method: string, evaluate: () => Promise<A>, onReply: (reply: A) => B, done: Done<B>): void {
    if (this.connection.isClosed()) return done(closedFailure(method))
    let promise: Promise<A>
    try {
      promise = evaluate()
    } catch (error) {
      return done(this.failure(method, error))
    }
    const deadlines = this.deadlines
    const entry = deadlines.add(method, done as Done<never>)
    promise.then(
      (reply) => {
        if (!deadlines.settle(entry)) return
        let result: B
        try {
          result = onReply(reply)
        } catch (error) {
          // the deadline is gone: a throw here must still reach `done`
          return done(this.failure(method, error))
        }
        done(undefined, result)
      },
      (error) => {
        if (deadlines.settle(entry)) done(this.failure(method, error))
      }
    )
  }

  /** `run` as a promise, for sequences of round trips: rejects only with a `RedisFailure`. */
  call<A>(method: string, evaluate: () => Promise<A>): Promise<A> {
    return new Promise<A>((resolve, reject) =>
      this.run(
        method,
        evaluate,
        identity,
        (failure, value) => failure === undefined ? resolve(value as A) : reject(failure)
      )
    )
  }

  /** Hands `done` the outcome of `promise` (a sequence of `call`s), any rejection as a `RedisFailure`. */
  settle<A>(method: string, promise: Promise<A>, done: Done<A>): void {
    promise.then(
      (value) => done(undefined, value),
      (error) => done(error instanceof RedisFailure ? error : this.failure(method, error))
    )
  }
}

const identity = <A>(a: A): A => a
