/**
 * The lock file's format and the decision whether its owner still holds it.
 */
import { assert, describe, it } from "vitest"
import * as Lock from "../../src/core/lockFile.js"

const here: Lock.Here = { pid: 100, host: "web-1", now: 1_000_000, processExists: (pid) => pid === 200 }

describe("lock file format", () => {
  it("round-trips, byte for byte", () => {
    const content = Lock.formatLock(4242, "web-1", "abc123")
    assert.strictEqual(content, "4242\nweb-1\nabc123\n")
    assert.deepStrictEqual(Lock.parseLock(content), { pid: 4242, host: "web-1" })
  })

  it("reads locks without a host, and refuses what is not a lock", () => {
    assert.deepStrictEqual(Lock.parseLock("17\n\nleftover\n"), { pid: 17, host: "" })
    assert.deepStrictEqual(Lock.parseLock("17"), { pid: 17, host: "" })
    for (const content of ["", "abc\nhost\n", "0\nhost\n", "-3\n", "1.5\n", "user,email\n"]) {
      assert.isUndefined(Lock.parseLock(content), JSON.stringify(content))
    }
  })
})

describe("judgeLock", () => {
  it("this host: alive while its process exists", () => {
    assert.deepStrictEqual(Lock.judgeLock({ pid: 200, host: "web-1" }, "x.lock", undefined, here), {
      _tag: "Alive",
      why: "x.lock is held by process 200"
    })
    assert.deepStrictEqual(Lock.judgeLock({ pid: 300, host: "web-1" }, "x.lock", undefined, here), { _tag: "Stale" })
    assert.strictEqual(Lock.judgeLock({ pid: 200, host: "" }, "x.lock", undefined, here)._tag, "Alive")
    assert.strictEqual(Lock.judgeLock({ pid: 300, host: "" }, "x.lock", undefined, here)._tag, "Stale")
  })

  it("this process's own pid is a leftover of an earlier process (the caller holds no such lock)", () => {
    const everyoneAlive = { ...here, processExists: () => true }
    assert.deepStrictEqual(Lock.judgeLock({ pid: 100, host: "web-1" }, "x.lock", undefined, everyoneAlive), {
      _tag: "Stale"
    })
  })

  it("another host: alive until its heartbeat is older than a minute, whatever its pid", () => {
    const owner = { pid: 200, host: "web-2" }
    const fresh = Lock.judgeLock(owner, "x.lock", here.now - 30_000, here)
    assert.strictEqual(fresh._tag, "Alive")
    assert.include((fresh as { why: string }).why, "host web-2, alive 30 s ago")
    assert.strictEqual(Lock.judgeLock(owner, "x.lock", here.now - Lock.FOREIGN_STALE_MILLIS, here)._tag, "Alive")
    assert.strictEqual(Lock.judgeLock(owner, "x.lock", here.now - Lock.FOREIGN_STALE_MILLIS - 1, here)._tag, "Stale")
    assert.strictEqual(Lock.judgeLock({ pid: 100, host: "web-2" }, "x.lock", here.now, here)._tag, "Alive")
    assert.strictEqual(Lock.judgeLock(owner, "x.lock", undefined, here)._tag, "Alive", "unknown age: alive")
    assert.isBelow(Lock.HEARTBEAT_MILLIS * 3, Lock.FOREIGN_STALE_MILLIS, "a live owner refreshes well before")
  })

  it("processExists checks this host's processes", () => {
    assert.isTrue(Lock.processExists(process.pid))
    assert.isTrue(Lock.here().processExists(process.ppid))
    assert.strictEqual(Lock.here().pid, process.pid)
  })
})
