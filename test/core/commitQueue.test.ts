/**
 * The commit queue (core/commitQueue.ts): commits of one session in one process take turns on its store key, first
 * come first served, and a commit that waited behind one that wrote after it loaded is told its version is stale.
 */
import { assert, describe, it } from "vitest"
import { CommitQueue, REMEMBERED_KEYS, type Turn } from "../../src/core/commitQueue.js"

describe("CommitQueue", () => {
  it("a free key is taken at once; a held one is handed over in arrival order, then freed", () => {
    const queue = new CommitQueue()
    const first = queue.tryTake("k", queue.now)!
    assert.isDefined(first)
    assert.isUndefined(queue.tryTake("k", queue.now))
    // another key is independent
    const other = queue.tryTake("other", queue.now)!
    assert.isDefined(other)
    const woken: Array<string> = []
    const turns: Array<Turn> = []
    for (const name of ["b", "c"]) {
      queue.wait("k", queue.now, (turn) => {
        woken.push(name)
        turns.push(turn)
      })
    }
    assert.deepStrictEqual(woken, [])
    queue.release(first)
    assert.deepStrictEqual(woken, ["b"])
    queue.release(turns[0]!)
    assert.deepStrictEqual(woken, ["b", "c"])
    queue.release(turns[1]!)
    queue.release(other)
    assert.strictEqual(queue.size, 0)
    // free again
    assert.isDefined(queue.tryTake("k", queue.now))
  })

  it("stale: only when a commit ended after the waiter's request loaded", () => {
    const queue = new CommitQueue()
    const loadedEarly = queue.now
    const holder = queue.tryTake("k", queue.now)!
    const got: Array<Turn> = []
    queue.wait("k", loadedEarly, (turn) => got.push(turn))
    queue.release(holder)
    assert.isTrue(got[0]!.stale)
    // a request that loaded after that commit ended holds the current version
    const loadedLate = queue.now
    queue.wait("k", loadedLate, (turn) => got.push(turn))
    queue.release(got[0]!)
    assert.isTrue(got[1]!.stale, "the commit just released ended after loadedLate")
    queue.release(got[1]!)
    const loadedLast = queue.now
    const waiting: Array<Turn> = []
    queue.wait("k", loadedLast, (turn) => waiting.push(turn))
    // the key was free: taken at once, and nothing is known to be newer than what was loaded
    assert.strictEqual(waiting.length, 1)
    assert.isFalse(waiting[0]!.stale)
    queue.release(waiting[0]!)
    // a free key remembers its last commit: a request that loaded before it is stale when it takes the key
    assert.isTrue(queue.tryTake("k", loadedLast)!.stale)
    assert.strictEqual(queue.size, 1)
  })

  it("remembers the last commit of the REMEMBERED_KEYS keys committed last", () => {
    const queue = new CommitQueue()
    const since = queue.now
    for (let i = 0; i <= REMEMBERED_KEYS; i++) queue.release(queue.tryTake(`k${i}`, since)!)
    // k0 was forgotten (its commit's write then fails and is retried: safe, only slower); k1 is remembered
    assert.isFalse(queue.tryTake("k0", since)!.stale)
    assert.isTrue(queue.tryTake("k1", since)!.stale)
  })

  it("a waiter that gave up is skipped; giving up after the turn came does nothing", () => {
    const queue = new CommitQueue()
    const holder = queue.tryTake("k", queue.now)!
    const woken: Array<string> = []
    const cancelB = queue.wait("k", 0, () => woken.push("b"))
    let turnC: Turn | undefined
    const cancelC = queue.wait("k", 0, (turn) => {
      woken.push("c")
      turnC = turn
    })
    cancelB()
    queue.release(holder)
    assert.deepStrictEqual(woken, ["c"])
    cancelC()
    queue.release(turnC!)
    assert.strictEqual(queue.size, 0)
  })
})
