/**
 * Group commit's plans: which writes of a batch get a record, and how the records are grouped into writes.
 */
import { assert, describe, it } from "vitest"
import {
  type Condition,
  CONFLICT,
  dataTooLarge,
  deleteWrite,
  encodeToken,
  groupRecords,
  type HeldEntry,
  type PendingWrite,
  planBatch,
  putWrite
} from "../../src/core/fileBatch.js"
import { FileIndex } from "../../src/core/fileIndex.js"
import * as Log from "../../src/core/fileLog.js"
import { formatVersion, parseVersion, VersionCounter } from "../../src/core/memoryIndex.js"

const secret = Log.LogSecret.random()

const put = (token: string, text: string, expiresAt = 5000, condition?: Condition) =>
  putWrite<never>(
    secret,
    token,
    Buffer.from(token, "utf8"),
    new TextEncoder().encode(text),
    expiresAt,
    condition === undefined ? "save" : "saveIf",
    condition
  )

/** `planBatch`'s view of the index: the entries held, expired or not. */
const heldIn = (entries: Record<string, HeldEntry>) => (token: string): HeldEntry | undefined => entries[token]

const counterFrom = (last: number) => {
  let n = last
  return () => ++n
}

const NOW = 1000
const ifAbsent: Condition = { expected: undefined, now: NOW, keepVersion: false }
const ifVersion = (expected: number): Condition => ({ expected, now: NOW, keepVersion: false })
const touchOf = (expected: number): Condition => ({ expected, now: NOW, keepVersion: true })

const tokens = (writes: ReadonlyArray<PendingWrite>) =>
  writes.map((w) => `${w.op === Log.OP_PUT ? "+" : "-"}${w.token}`)

describe("planBatch", () => {
  it("keeps puts, and deletes of tokens that exist or were saved earlier in the batch", () => {
    const known = new Set(["old"])
    const writes = [
      deleteWrite<never>("unknown", "delete"),
      deleteWrite<never>("old", "delete"),
      put("new", "x"),
      deleteWrite<never>("new", "save"),
      deleteWrite<never>("new", "delete"),
      deleteWrite<never>("later", "delete"),
      put("later", "y")
    ]
    const plan = planBatch(
      writes,
      (token) => known.has(token) ? { expiresAt: 5000, version: 1 } : undefined,
      secret,
      counterFrom(1)
    )
    assert.deepStrictEqual(tokens(plan.included), ["-old", "+new", "-new", "-new", "+later"])
    assert.deepStrictEqual(tokens(plan.noops), ["-unknown", "-later"])
    // each included write has its record, in order, and the bytes add up
    assert.deepStrictEqual(plan.records, plan.included.map((w) => w.record!))
    assert.strictEqual(plan.bytes, plan.records.reduce((n, r) => n + r.length, 0))
    assert.deepStrictEqual(plan.records[0], Log.encodeDelete(secret, Buffer.from("old")))
    assert.isUndefined(writes[0]!.record, "no record for a delete with nothing to delete")
  })

  it("leaves cancelled writes out entirely", () => {
    const a = put("a", "1")
    const b = deleteWrite<never>("a", "delete")
    a.cancelled = true
    const plan = planBatch([a, b], () => undefined, secret, counterFrom(0))
    assert.deepStrictEqual(plan.included, [])
    assert.deepStrictEqual(tokens(plan.noops), ["-a"], "the delete no longer follows a save")
    assert.strictEqual(plan.bytes, 0)
  })

  it("an empty queue plans nothing", () => {
    assert.deepStrictEqual(planBatch([], () => ({ expiresAt: 1, version: 1 }), secret, counterFrom(0)), {
      included: [],
      records: [],
      bytes: 0,
      noops: [],
      deferred: []
    })
  })

  it("puts take the next versions, in order", () => {
    const writes = [put("a", "1"), put("b", "2"), put("a", "3")]
    const plan = planBatch(writes, () => undefined, secret, counterFrom(41))
    assert.deepStrictEqual(plan.included.map((w) => w.version), [42, 43, 44])
  })

  it("saveIf(None) writes only where no entry is live at the caller's now", () => {
    const held = heldIn({ live: { expiresAt: NOW + 1, version: 7 }, expired: { expiresAt: NOW, version: 8 } })
    const writes = [
      put("live", "x", 5000, ifAbsent),
      put("expired", "y", 5000, ifAbsent),
      put("new", "z", 5000, ifAbsent)
    ]
    const plan = planBatch(writes, held, secret, counterFrom(10))
    assert.deepStrictEqual(tokens(plan.included), ["+expired", "+new"])
    assert.deepStrictEqual(plan.included.map((w) => w.version), [11, 12])
    assert.deepStrictEqual(tokens(plan.noops), ["+live"])
    assert.strictEqual(writes[0]!.version, CONFLICT)
  })

  it("saveIf(Some(v)) writes only on the live entry holding v; a touch keeps v", () => {
    const held = heldIn({
      a: { expiresAt: 5000, version: 3 },
      b: { expiresAt: 5000, version: 4 },
      c: { expiresAt: NOW, version: 5 }
    })
    const writes = [
      put("a", "new a", 5000, ifVersion(3)),
      put("b", "new b", 5000, ifVersion(3)),
      put("c", "new c", 5000, ifVersion(5)),
      put("missing", "m", 5000, ifVersion(3)),
      put("d", "d", 9000, touchOf(6))
    ]
    const plan = planBatch(
      writes,
      (token) => token === "d" ? { expiresAt: 5000, version: 6 } : held(token),
      secret,
      counterFrom(100)
    )
    assert.deepStrictEqual(tokens(plan.included), ["+a", "+d"])
    assert.deepStrictEqual(plan.included.map((w) => w.version), [101, 6])
    assert.deepStrictEqual(tokens(plan.noops), ["+b", "+c", "+missing"], "stale, expired, missing")
    assert.isTrue(plan.noops.every((w) => w.version === CONFLICT))
  })

  it("a conditional delete writes a record only for an entry held, and answers a fresh version either way", () => {
    const held = heldIn({ a: { expiresAt: 5000, version: 3 }, old: { expiresAt: NOW - 1, version: 2 } })
    const writes = [
      deleteWrite<never>("a", "saveIf", ifVersion(3)),
      deleteWrite<never>("old", "saveIf", ifAbsent),
      deleteWrite<never>("none", "saveIf", ifAbsent),
      deleteWrite<never>("a", "touch", touchOf(9))
    ]
    const plan = planBatch(writes, held, secret, counterFrom(20))
    assert.deepStrictEqual(tokens(plan.included), ["-a", "-old"])
    assert.deepStrictEqual(plan.records[0], Log.encodeDelete(secret, Buffer.from("a")))
    assert.deepStrictEqual(plan.included.map((w) => w.version), [21, 22])
    assert.deepStrictEqual(tokens(plan.noops), ["-none"])
    assert.strictEqual(writes[2]!.version, 23)
    // the touch after the delete in the same batch waits for the next batch
    assert.deepStrictEqual(tokens(plan.deferred), ["-a"])
  })

  it("a conditional write to a token written earlier in the batch, and what follows it there, wait for the next batch", () => {
    const held = heldIn({ k: { expiresAt: 5000, version: 1 } })
    const first = put("k", "first", 5000, ifVersion(1))
    const racing = Array.from({ length: 5 }, (_, i) => put("k", `racer ${i}`, 5000, ifVersion(1)))
    const after = [put("k", "unconditional"), deleteWrite<never>("k", "delete"), put("other", "o", 5000, ifAbsent)]
    const writes = [first, ...racing, ...after]
    const plan = planBatch(writes, held, secret, counterFrom(1))
    assert.deepStrictEqual(plan.included, [first, after[2]!])
    assert.deepStrictEqual(plan.deferred, [...racing, after[0]!, after[1]!], "in order")
    assert.deepStrictEqual(plan.noops, [])
    // next batch: the first one is in the index now; every racer conflicts, the rest apply
    const next = planBatch(
      plan.deferred,
      heldIn({ k: { expiresAt: 5000, version: first.version } }),
      secret,
      counterFrom(3)
    )
    assert.deepStrictEqual(next.noops, racing)
    assert.deepStrictEqual(next.included, [after[0]!, after[1]!])
    assert.deepStrictEqual(next.deferred, [])
  })

  it("conflicts and no-ops are not writes: a conditional write after them in the batch is decided at once", () => {
    const writes = [
      deleteWrite<never>("k", "delete"),
      put("k", "stale", 5000, ifVersion(99)),
      put("k", "fresh", 5000, ifAbsent)
    ]
    const plan = planBatch(writes, () => undefined, secret, counterFrom(0))
    assert.deepStrictEqual(tokens(plan.noops), ["-k", "+k"])
    assert.deepStrictEqual(plan.included, [writes[2]!])
    assert.deepStrictEqual(plan.deferred, [])
  })
})

describe("groupRecords", () => {
  const record = (n: number, fill: number) => Buffer.alloc(n, fill)

  it("concatenates consecutive records up to the chunk size, in order", () => {
    const records = [record(3, 1), record(4, 2), record(2, 3), record(10, 4), record(1, 5)]
    const chunks = groupRecords(records, 8)
    assert.deepStrictEqual(chunks.map((c) => c.length), [7, 2, 10, 1])
    assert.deepStrictEqual(Buffer.concat(chunks), Buffer.concat(records))
    // a lone record is written as it is, not copied
    assert.strictEqual(chunks[2], records[3])
  })

  it("nothing to write is no write", () => {
    assert.deepStrictEqual(groupRecords([], 8), [])
  })
})

describe("FileIndex.apply", () => {
  it("applies written puts and deletes, keeping the live size in step", () => {
    const index = new FileIndex()
    const a1 = put("a", "first")
    const b = put("b", "bb")
    index.apply([a1, b])
    assert.strictEqual(index.liveBytes, a1.record!.length + b.record!.length)
    const a2 = put("a", "second version", 7000)
    const delB = deleteWrite<never>("b", "delete")
    delB.record = Log.encodeDelete(secret, Buffer.from("b"))
    index.apply([a2, delB, deleteWrite<never>("c", "delete")])
    assert.strictEqual(index.size, 1)
    assert.strictEqual(index.liveBytes, a2.record!.length)
    assert.deepStrictEqual(index.find("a", 6999), new TextEncoder().encode("second version"))
    assert.isUndefined(index.find("a", 7000), "expired")
    assert.strictEqual(index.size, 0)
    assert.strictEqual(index.liveBytes, 0)
  })

  it("keeps the version each write was planned with, and a touch's put keeps it", () => {
    const index = new FileIndex()
    const a = put("a", "abc")
    a.version = 5
    index.apply([a])
    assert.strictEqual(index.live("a", 0)!.version, 5)
    const touched = put("a", "abc", 9000, touchOf(5))
    touched.version = 5
    index.apply([touched])
    const entry = index.live("a", 8999)!
    assert.strictEqual(entry.version, 5)
    assert.strictEqual(entry.expiresAt, 9000)
    assert.strictEqual(index.liveBytes, touched.record!.length)
    // applied without a plan: the next version of the index's counter
    const b = put("b", "x")
    index.apply([b])
    assert.isAbove(b.version, 0)
    assert.strictEqual(index.live("b", 0)!.version, b.version)
  })

  it("live drops an expired entry and its bytes", () => {
    const index = new FileIndex()
    index.apply([put("a", "abc", 100)])
    assert.isDefined(index.live("a", 99))
    assert.isUndefined(index.live("a", 100))
    assert.strictEqual(index.size, 0)
    assert.strictEqual(index.liveBytes, 0)
  })

  it("find returns a copy", () => {
    const index = new FileIndex()
    index.apply([put("a", "abc")])
    const found = index.find("a", 0)!
    found[0] = 0
    assert.deepStrictEqual(index.find("a", 0), new TextEncoder().encode("abc"))
  })
})

describe("input checks", () => {
  it("encodeToken", () => {
    assert.deepStrictEqual(encodeToken("é"), Buffer.from([0xc3, 0xa9]))
    assert.instanceOf(encodeToken("x".repeat(Log.MAX_TOKEN_BYTES)), Buffer)
    assert.include(encodeToken("x".repeat(Log.MAX_TOKEN_BYTES + 1)) as string, "above the limit")
    assert.include(encodeToken("bad\uD800") as string, "not well-formed")
    assert.instanceOf(encodeToken("emoji-😀"), Buffer)
  })

  it("dataTooLarge", () => {
    assert.isUndefined(dataTooLarge(new Uint8Array(10)))
    assert.include(dataTooLarge({ length: Log.MAX_DATA_BYTES + 1 } as Uint8Array)!, "above the limit")
  })
})

describe("versions", () => {
  it("a counter never gives a version twice, and parseVersion takes back exactly what formatVersion gave", () => {
    const counter = new VersionCounter()
    const seen = new Set<string>()
    for (let i = 0; i < 5000; i++) {
      const version = counter.next()
      const text = formatVersion(version)
      assert.isFalse(seen.has(text))
      seen.add(text)
      assert.strictEqual(parseVersion(text), version)
    }
    for (const foreign of ["", "0", "-1", "01", "A", "1.5", " 1", "zzzzzzzzzzzz", "v_1", "abc123-digest"]) {
      assert.strictEqual(parseVersion(foreign), -1, foreign)
    }
    assert.strictEqual(parseVersion(formatVersion(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
  })
})
