/**
 * Group commit's plans: which writes of a batch get a record, and how the records are grouped into writes.
 */
import { assert, describe, it } from "vitest"
import {
  dataTooLarge,
  deleteWrite,
  encodeToken,
  groupRecords,
  type PendingWrite,
  planBatch,
  putWrite
} from "../../src/core/fileBatch.js"
import { FileIndex } from "../../src/core/fileIndex.js"
import * as Log from "../../src/core/fileLog.js"

const secret = Log.LogSecret.random()

const put = (token: string, text: string, expiresAt = 5000) =>
  putWrite<never>(secret, token, Buffer.from(token, "utf8"), new TextEncoder().encode(text), expiresAt, "save")

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
    const plan = planBatch(writes, (token) => known.has(token), secret)
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
    const plan = planBatch([a, b], () => false, secret)
    assert.deepStrictEqual(plan.included, [])
    assert.deepStrictEqual(tokens(plan.noops), ["-a"], "the delete no longer follows a save")
    assert.strictEqual(plan.bytes, 0)
  })

  it("an empty queue plans nothing", () => {
    assert.deepStrictEqual(planBatch([], () => true, secret), { included: [], records: [], bytes: 0, noops: [] })
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
