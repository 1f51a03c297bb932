/**
 * Compaction's policy (when, the backpressure bound, the retry after a failure), the compacted log's bytes, and
 * the options that configure them.
 */
import { assert, describe, it } from "vitest"
import { putWrite } from "../../src/core/fileBatch.js"
import * as Policy from "../../src/core/fileCompaction.js"
import { FileIndex } from "../../src/core/fileIndex.js"
import * as Log from "../../src/core/fileLog.js"
import { checkCompaction, checkOnCorruption, checkPathAndSync } from "../../src/core/fileOptions.js"
import { LogReplay } from "../../src/core/fileReplay.js"

const secret = Log.LogSecret.random()

const MiB = 1024 * 1024

describe("compaction policy", () => {
  it("compacts a log at least twice its live size and at least minSize, unless off", () => {
    const policy = { minSize: MiB }
    assert.isTrue(Policy.shouldCompact(policy, 2 * MiB, MiB, 0))
    assert.isFalse(Policy.shouldCompact(policy, 2 * MiB - 1, MiB, 0), "below twice the live size")
    assert.isFalse(Policy.shouldCompact(policy, MiB - 1, 100, 0), "below minSize")
    assert.isTrue(Policy.shouldCompact({ minSize: 0 }, 200, 100, 0))
    assert.isFalse(Policy.shouldCompact(false, 100 * MiB, 100, 0), "off")
  })

  it("after a failure, waits until the log has grown by half", () => {
    const retryAt = Policy.retryAfterFailure(4 * MiB)
    assert.strictEqual(retryAt, 6 * MiB)
    assert.isFalse(Policy.shouldCompact({ minSize: 0 }, 6 * MiB - 1, 100, retryAt))
    assert.isTrue(Policy.shouldCompact({ minSize: 0 }, 6 * MiB, 100, retryAt))
    assert.strictEqual(Policy.retryAfterFailure(3), 5)
  })

  it("the backpressure bound: the log may grow by the live size, at least 1 MiB, while compacting", () => {
    assert.strictEqual(Policy.growLimit(10 * MiB, 3 * MiB), 13 * MiB)
    assert.strictEqual(Policy.growLimit(10 * MiB, 1000), 10 * MiB + Policy.TAIL_UNLOCKED)
    assert.isTrue(Policy.copyWithoutLock(5 * MiB, 5 * MiB - Policy.TAIL_UNLOCKED - 1))
    assert.isFalse(Policy.copyWithoutLock(5 * MiB, 5 * MiB - Policy.TAIL_UNLOCKED))
  })
})

describe("snapshotChunks", () => {
  const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i + seed) & 0xff)

  it("writes the header and one put per live entry, in chunks, and drops expired entries", () => {
    const index = new FileIndex()
    const expiryOf = (i: number) => i % 5 === 0 ? 100 : 1000
    const writes = Array.from(
      { length: 50 },
      (_, i) =>
        putWrite<never>(secret, `t-${i}`, Buffer.from(`t-${i}`), filled(i === 7 ? 500 : i, i), expiryOf(i), "save")
    )
    index.apply(writes)
    const entries = Array.from(index.entries.values())
    const chunks: Array<Buffer> = []
    // a chunk is reused: copy each before asking for the next
    for (const chunk of Policy.snapshotChunks(entries, 100, index, 128, secret)) chunks.push(Buffer.from(chunk))
    assert.isAbove(chunks.length, 5)
    for (const chunk of chunks.slice(0, -1)) {
      assert.isAtMost(chunk.length, 500 + Log.RECORD_OVERHEAD + 3, "chunks stay small")
    }
    const log = Buffer.concat(chunks)
    assert.deepStrictEqual(log.subarray(0, Log.HEADER_SIZE), Log.encodeHeader(secret))

    assert.strictEqual(index.size, 40, "the ten expired entries are gone from the index")
    assert.strictEqual(log.length, index.liveSize, "the compacted log is exactly the live size")

    const replayed = new FileIndex()
    const replay = new LogReplay(log.length, replayed.replaySink(0), secret)
    for (let step = replay.next(), at = Log.HEADER_SIZE; step._tag === "Read"; step = replay.next()) {
      const n = log.copy(step.into, 0, at, Math.min(log.length, at + step.into.length))
      at += n
      replay.advance(n)
    }
    assert.strictEqual(replayed.size, 40)
    for (let i = 0; i < 50; i++) {
      assert.deepStrictEqual(replayed.find(`t-${i}`, 0), i % 5 === 0 ? undefined : filled(i === 7 ? 500 : i, i))
    }
  })

  it("an entry replaced since the snapshot is not dropped for the snapshot's expiry", () => {
    const index = new FileIndex()
    index.apply([putWrite<never>(secret, "a", Buffer.from("a"), filled(3, 0), 100, "save")])
    const entries = Array.from(index.entries.values())
    // saved again after the snapshot: the same entry object, updated in place
    index.apply([putWrite<never>(secret, "a", Buffer.from("a"), filled(4, 1), 5000, "save")])
    const log = Buffer.concat([...Policy.snapshotChunks(entries, 200, index, 1024, secret)].map((c) => Buffer.from(c)))
    assert.strictEqual(index.size, 1)
    assert.strictEqual(log.length, Log.HEADER_SIZE + Log.recordSize(1, 4), "written as it is now")
  })

  it("an empty index compacts to a header", () => {
    const index = new FileIndex()
    assert.deepStrictEqual([...Policy.snapshotChunks([], 0, index, 64, secret)].map((c) => Buffer.from(c)), [
      Log.encodeHeader(secret)
    ])
  })
})

describe("options", () => {
  it("path and sync", () => {
    assert.deepStrictEqual(checkPathAndSync({ path: "a.log" }), { path: "a.log", sync: "everysec" })
    assert.deepStrictEqual(checkPathAndSync({ path: "a.log", sync: "always" }), { path: "a.log", sync: "always" })
    assert.include(checkPathAndSync({ path: "" }) as string, "path")
    assert.include(checkPathAndSync({ path: 3 }) as string, "path")
    assert.include(checkPathAndSync({ path: "a", sync: "sometimes" }) as string, "\"sometimes\"")
  })

  it("compaction", () => {
    assert.deepStrictEqual(checkCompaction(undefined), { policy: { minSize: Policy.DEFAULT_MIN_SIZE } })
    assert.deepStrictEqual(checkCompaction({}), { policy: { minSize: Policy.DEFAULT_MIN_SIZE } })
    assert.deepStrictEqual(checkCompaction(false), { policy: false })
    assert.deepStrictEqual(checkCompaction({ minSize: 0 }), { policy: { minSize: 0 } })
    assert.include(checkCompaction({ minSize: -1 }) as string, "non-negative")
    assert.include(checkCompaction({ minSize: 1.5 }) as string, "non-negative")
  })

  it("onCorruption", () => {
    assert.strictEqual(checkOnCorruption(undefined), "skip")
    assert.strictEqual(checkOnCorruption("refuse"), "refuse")
    assert.include((checkOnCorruption("ignore") as { invalid: string }).invalid, "\"ignore\"")
  })
})
