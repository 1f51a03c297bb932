/**
 * Round trips with a hard deadline (`src/core/redisRoundTrip.ts`), over promises the tests settle: no server, no
 * Effect. The shells' tests check the same runner through their Effect callbacks and against real servers.
 */
import { assert, describe, it } from "vitest"
import type { ConnectionState, RedisFailure } from "../../src/core/redisErrors.js"
import { RoundTrips } from "../../src/core/redisRoundTrip.js"

const ready: ConnectionState = { status: "ready", lastError: undefined, target: "127.0.0.1:6379", tls: false }

const deferred = <A>() => {
  let resolve!: (value: A) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<A>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
const never = () => new Promise<string>(() => {})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

type Outcome<B> = { readonly failure: RedisFailure; readonly at: number } | { readonly value: B; readonly at: number }

/** Runs one round trip; resolves with its outcome and when it came (`performance.now()`), and counts calls of done. */
const run = <A, B = A>(
  runner: RoundTrips,
  method: string,
  evaluate: () => Promise<A>,
  onReply: (reply: A) => B = (a) => a as unknown as B
) => {
  let calls = 0
  const outcome = new Promise<Outcome<B>>((resolve) =>
    runner.run(method, evaluate, onReply, (failure, value) => {
      calls++
      resolve(failure !== undefined ? { failure, at: performance.now() } : { value: value as B, at: performance.now() })
    })
  )
  return { outcome, calls: () => calls }
}

const failureOf = <B>(outcome: Outcome<B>): RedisFailure => {
  if (!("failure" in outcome)) assert.fail(`expected a failure, got ${String(outcome.value)}`)
  return outcome.failure
}

describe("RoundTrips", () => {
  it("every round trip gets its own deadline from one shared timer; answered ones are not failed", async () => {
    const runner = new RoundTrips(150, { state: () => ready, isClosed: () => false })
    const start = performance.now()
    const first = run(runner, "find", never)
    await sleep(60)
    const secondStart = performance.now()
    const second = run(runner, "delete", never)
    const answered = deferred<string>()
    const third = run(runner, "save", () => answered.promise, (s) => s.length)
    assert.strictEqual(runner.deadlines.state.pending, 3)
    assert.isTrue(runner.deadlines.state.holdsProcess)
    answered.resolve("OK")
    assert.include(await third.outcome, { value: 2 })
    const firstFailure = failureOf(await first.outcome)
    assert.deepStrictEqual(
      [firstFailure.reason, firstFailure.method, firstFailure.description],
      ["Timeout", "find", "Redis did not answer within 150 ms"]
    )
    const firstAt = (await first.outcome).at - start
    const secondAt = (await second.outcome).at - secondStart
    assert.strictEqual(failureOf(await second.outcome).method, "delete")
    assert.isAtLeast(firstAt, 145)
    assert.isBelow(firstAt, 250)
    assert.isAtLeast(secondAt, 145)
    assert.isBelow(secondAt, 250)
    // nothing pending: the timer no longer holds the process; each done was called once
    assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
    await sleep(200)
    assert.deepStrictEqual([first.calls(), second.calls(), third.calls()], [1, 1, 1])
  })

  it("a reply after the deadline, or a rejection after it, reaches nobody and is handled", async () => {
    const runner = new RoundTrips(50, { state: () => ready, isClosed: () => false })
    const late = deferred<string>()
    const lateRun = run(runner, "find", () => late.promise)
    const rejected = deferred<string>()
    const rejectedRun = run(runner, "find", () => rejected.promise)
    assert.strictEqual(failureOf(await lateRun.outcome).reason, "Timeout")
    assert.strictEqual(failureOf(await rejectedRun.outcome).reason, "Timeout")
    late.resolve("too late")
    rejected.reject(new Error("too late"))
    await sleep(10)
    assert.deepStrictEqual([lateRun.calls(), rejectedRun.calls()], [1, 1])
  })

  it("once released, a pending command keeps its deadline but no longer holds the process open", async () => {
    const runner = new RoundTrips(100, { state: () => ready, isClosed: () => false })
    const held = run(runner, "find", never)
    assert.deepStrictEqual(runner.deadlines.state, { pending: 1, holdsProcess: true })
    runner.deadlines.release()
    assert.deepStrictEqual(runner.deadlines.state, { pending: 1, holdsProcess: false })
    // a command sent after release does not hold the process either
    const after = run(runner, "find", never)
    assert.deepStrictEqual(runner.deadlines.state, { pending: 2, holdsProcess: false })
    assert.strictEqual(failureOf(await held.outcome).reason, "Timeout")
    assert.strictEqual(failureOf(await after.outcome).reason, "Timeout")
    assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
  })

  it("a command that throws, a reply handler that throws, or a released store: a typed failure, nothing pending", async () => {
    let closed = false
    const runner = new RoundTrips(1000, { state: () => ready, isClosed: () => closed })
    const thrown = failureOf(
      await run(runner, "save", () => {
        throw new TypeError("bad argument")
      }).outcome
    )
    assert.deepStrictEqual([thrown.reason, thrown.method, thrown.description], ["Io", "save", "bad argument"])
    const badReply = failureOf(
      await run(runner, "find", () => Promise.resolve("x"), () => {
        throw new RangeError("cannot read the reply")
      }).outcome
    )
    assert.deepStrictEqual([badReply.reason, badReply.description], ["Io", "cannot read the reply"])
    closed = true
    const evaluated: Array<string> = []
    const closedFailure = failureOf(
      await run(runner, "delete", () => {
        evaluated.push("sent")
        return never()
      }).outcome
    )
    assert.deepStrictEqual([closedFailure.reason, closedFailure.method], ["Closed", "delete"])
    assert.deepStrictEqual(evaluated, [], "nothing is sent once the store is released")
    assert.deepStrictEqual(runner.deadlines.state, { pending: 0, holdsProcess: false })
  })

  it("the Timeout description reads the connection when the deadline passes", async () => {
    let state: ConnectionState = { ...ready, status: "connecting", tls: true }
    const runner = new RoundTrips(40, { state: () => state, isClosed: () => false })
    const first = run(runner, "find", never)
    assert.include(failureOf(await first.outcome).description, "still connecting to 127.0.0.1:6379 over TLS")
    state = { ...state, status: "reconnecting", lastError: new Error("connect ETIMEDOUT") }
    const second = run(runner, "find", never)
    assert.include(failureOf(await second.outcome).description, "(last connection error: connect ETIMEDOUT)")
  })

  it("call and settle: a sequence of round trips as a promise, failing only with a RedisFailure", async () => {
    const runner = new RoundTrips(50, { state: () => ready, isClosed: () => false })
    assert.strictEqual(await runner.call("all", () => Promise.resolve(42)), 42)
    const sequence = async () => {
      const a = await runner.call("all", () => Promise.resolve(1))
      const b = await runner.call("all", never)
      return a + Number(b)
    }
    const failure = await new Promise<RedisFailure | undefined>((resolve) =>
      runner.settle("all", sequence(), (failure) => resolve(failure))
    )
    assert.strictEqual(failure?.reason, "Timeout")
    // a plain error thrown between round trips becomes a failure too
    const thrown = await new Promise<RedisFailure | undefined>((resolve) =>
      runner.settle("all", Promise.reject(new Error("ECONNRESET")), (failure) => resolve(failure))
    )
    assert.deepStrictEqual([thrown?.reason, thrown?.description], ["Unreachable", "ECONNRESET"])
  })
})
