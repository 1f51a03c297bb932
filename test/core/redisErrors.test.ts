/**
 * How RedisStore names what went wrong (`src/core/redisErrors.ts`), with the errors ioredis really raises.
 */
import { ReplyError } from "ioredis"
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js"
import { assert, describe, it } from "vitest"
import {
  closedFailure,
  type ConnectionState,
  failureOf,
  isRedirect,
  reasonOf,
  RedisFailure,
  timeoutFailure
} from "../../src/core/redisErrors.js"

const reply = (message: string): Error => new ReplyError(message)
const state = (overrides: Partial<ConnectionState> = {}): ConnectionState => ({
  status: "ready",
  lastError: undefined,
  target: "127.0.0.1:6379",
  tls: false,
  ...overrides
})
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" })

describe("reasonOf", () => {
  it("error replies are Io, except those of a server that cannot serve right now", () => {
    assert.strictEqual(
      reasonOf(reply("WRONGTYPE Operation against a key holding the wrong kind of value"), "ready"),
      "Io"
    )
    assert.strictEqual(reasonOf(reply("ERR syntax error"), "ready"), "Io")
    for (const message of ["CLUSTERDOWN The cluster is down", "LOADING Redis is loading", "MASTERDOWN Link down"]) {
      assert.strictEqual(reasonOf(reply(message), "ready"), "Unreachable", message)
    }
    assert.strictEqual(reasonOf(reply("BUSYKEY Target key name already exists"), "ready"), "Io")
  })

  it("ioredis' command timeout is Timeout, a closed client Closed, programming errors Io, the rest Unreachable", () => {
    assert.strictEqual(reasonOf(new Error("Command timed out"), "ready"), "Timeout")
    assert.strictEqual(reasonOf(new Error("Connection is closed."), "end"), "Closed")
    assert.strictEqual(reasonOf(new TypeError("bad argument"), "ready"), "Io")
    assert.strictEqual(reasonOf(new RangeError("too long"), "ready"), "Io")
    assert.strictEqual(reasonOf("not an error", "ready"), "Io")
    assert.strictEqual(reasonOf(refused, "reconnecting"), "Unreachable")
    assert.strictEqual(reasonOf(new MaxRetriesPerRequestError(0), "reconnecting"), "Unreachable")
  })

  it("isRedirect: MOVED and ASK replies only", () => {
    assert.isTrue(isRedirect(reply("MOVED 3999 127.0.0.1:6381")))
    assert.isTrue(isRedirect(reply("ASK 3999 127.0.0.1:6381")))
    assert.isFalse(isRedirect(reply("ERR MOVED somewhere")))
    assert.isFalse(isRedirect(new Error("MOVED 3999 127.0.0.1:6381")))
  })
})

describe("failure descriptions", () => {
  it("Unreachable names the last connection error; a not-sent command says the connection is down", () => {
    const last = state({ status: "reconnecting", lastError: refused })
    const notSent = failureOf("find", new MaxRetriesPerRequestError(0), last)
    assert.strictEqual(notSent.reason, "Unreachable")
    assert.strictEqual(notSent.method, "find")
    assert.strictEqual(
      notSent.description,
      "the connection to Redis is down (last connection error: connect ECONNREFUSED 127.0.0.1:6379)"
    )
    assert.instanceOf(notSent.cause, MaxRetriesPerRequestError)
    // the error itself is the last connection error: not named twice
    assert.strictEqual(failureOf("find", refused, last).description, "connect ECONNREFUSED 127.0.0.1:6379")
  })

  it("Timeout names the last connection error too, or says the client is still connecting (and where, and TLS)", () => {
    const withError = state({ status: "reconnecting", lastError: new Error("connect ETIMEDOUT") })
    assert.strictEqual(
      timeoutFailure("save", 1000, withError).description,
      "Redis did not answer within 1000 ms (last connection error: connect ETIMEDOUT)"
    )
    assert.strictEqual(
      timeoutFailure("save", 1000, state({ status: "connecting", tls: true })).description,
      "Redis did not answer within 1000 ms (the client is still connecting to 127.0.0.1:6379 over TLS, with no " +
        "connection error so far)"
    )
    assert.strictEqual(
      timeoutFailure("find", 250, state({ status: "connect", target: "" })).description,
      "Redis did not answer within 250 ms (the client is still connecting, with no connection error so far)"
    )
    // a connected client that does not answer (a frozen server) has nothing more to say
    assert.strictEqual(timeoutFailure("find", 250, state()).description, "Redis did not answer within 250 ms")
    // ioredis' own commandTimeout gets the same note
    const own = failureOf("find", new Error("Command timed out"), state({ status: "connecting" }))
    assert.strictEqual(own.reason, "Timeout")
    assert.include(own.description, "Command timed out (the client is still connecting to 127.0.0.1:6379")
  })

  it("Closed, Io and an existing RedisFailure; cause only when there is one", () => {
    const closed = failureOf("delete", new Error("Connection is closed."), state({ status: "end" }))
    assert.strictEqual(closed.reason, "Closed")
    assert.strictEqual(closed.description, "the Redis client is closed (Connection is closed.)")
    const io = failureOf("save", reply("OOM command not allowed"), state({ lastError: refused }))
    assert.deepStrictEqual([io.reason, io.description], ["Io", "OOM command not allowed"])
    const existing = new RedisFailure("InvalidInput", "all", "bad")
    assert.strictEqual(failureOf("find", existing, state()), existing)
    assert.isFalse("cause" in existing)
    assert.isFalse("cause" in closedFailure("find"))
    assert.strictEqual(closedFailure("find").description, "the RedisStore layer has been released")
  })
})
