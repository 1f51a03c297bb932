/**
 * The replay of a log at open, fed the way a file system feeds it: in reads of any size, from a file cut at any
 * byte (a crash in the middle of a write) or damaged anywhere.
 */
import { assert, describe, it } from "vitest"
import { FileIndex } from "../../src/core/fileIndex.js"
import * as Log from "../../src/core/fileLog.js"
import { LogReplay, refusal, tornTailWarning } from "../../src/core/fileReplay.js"

/** A small deterministic PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Op = { readonly token: string; readonly expiresAt: number; readonly data: Uint8Array | undefined }

/** A log of `ops` (one record each), and the end offset of each record. */
const logOf = (ops: ReadonlyArray<Op>) => {
  const parts: Array<Buffer> = [Log.encodeHeader()]
  const ends: Array<number> = []
  let offset = Log.HEADER_SIZE
  for (const op of ops) {
    const token = Buffer.from(op.token, "utf8")
    const record = op.data === undefined
      ? Log.encodeDelete(token)
      : Log.encodePut(token, op.expiresAt, op.data).record
    parts.push(record)
    offset += record.length
    ends.push(offset)
  }
  return { bytes: Buffer.concat(parts), ends }
}

const describeOp = (op: Op) =>
  op.data === undefined
    ? `delete ${op.token}`
    : `put ${op.token} ${op.expiresAt} ${Buffer.from(op.data).toString("hex")}`

/** Replays `file` (all of it is the file) with reads of the sizes `readSize` picks; returns the end and the records. */
const replay = (file: Buffer, readSize: () => number, chunkSize: number) => {
  const seen: Array<string> = []
  const sink: Log.ScanSink = {
    put: (token, expiresAt, buffer, start, end) =>
      seen.push(`put ${token} ${expiresAt} ${buffer.subarray(start, end).toString("hex")}`),
    delete: (token) => seen.push(`delete ${token}`)
  }
  const replay = new LogReplay(file.length, sink, chunkSize)
  let position = Log.HEADER_SIZE
  let reads = 0
  for (;;) {
    const step = replay.next()
    if (step._tag === "End") return { ...step, seen, reads }
    assert.isAbove(step.into.length, 0, "asks for at least one byte")
    const n = Math.min(step.into.length, readSize(), file.length - position)
    file.copy(step.into, 0, position, position + n)
    position += n
    reads++
    replay.advance(n)
    assert.isBelow(reads, 100_000, "the replay terminates")
  }
}

const random = prng(3)
const ops: Array<Op> = []
for (let k = 0; k < 40; k++) {
  const token = `t${Math.floor(random() * 8)}-${"é".repeat(k % 3)}`
  // mostly small, a few larger than the replay's buffer
  const size = k % 9 === 4 ? 300 + Math.floor(random() * 300) : Math.floor(random() * 40)
  ops.push(
    random() < 0.2
      ? { token, expiresAt: 0, data: undefined }
      : { token, expiresAt: 1000 + k, data: Uint8Array.from({ length: size }, (_, i) => (i * 7 + k) & 0xff) }
  )
}
const { bytes, ends } = logOf(ops)

describe("LogReplay", () => {
  it("an intact log replays every record, whatever the read sizes and the buffer size", () => {
    for (const [readSize, chunkSize] of [[1, 1], [7, 64], [1 << 20, 64], [13, 1 << 20], [1 << 20, 1 << 20]] as const) {
      const result = replay(bytes, () => readSize, chunkSize)
      assert.deepStrictEqual(result.good, bytes.length)
      assert.strictEqual(result.why, "")
      assert.deepStrictEqual(result.seen, ops.map(describeOp))
    }
  })

  it("a log cut at any byte keeps exactly the whole records before the cut", () => {
    const sizes = prng(11)
    for (let cut = Log.HEADER_SIZE; cut <= bytes.length; cut++) {
      const kept = ends.filter((end) => end <= cut).length
      const good = kept === 0 ? Log.HEADER_SIZE : ends[kept - 1]!
      const result = replay(bytes.subarray(0, cut), () => 1 + Math.floor(sizes() * 90), 64)
      assert.strictEqual(result.good, good, `cut at ${cut}`)
      assert.strictEqual(result.why, good === cut ? "" : "incomplete record", `cut at ${cut}`)
      assert.deepStrictEqual(result.seen, ops.slice(0, kept).map(describeOp), `cut at ${cut}`)
    }
  })

  it("a byte damaged anywhere ends the replay at the start of its record, with what follows dropped", () => {
    const sizes = prng(12)
    for (let at = Log.HEADER_SIZE; at < bytes.length; at++) {
      const damaged = Buffer.from(bytes)
      damaged[at] = damaged[at]! ^ 0x5a
      const record = ends.findIndex((end) => end > at)
      const start = record === 0 ? Log.HEADER_SIZE : ends[record - 1]!
      const result = replay(damaged, () => 1 + Math.floor(sizes() * 200), 64)
      assert.strictEqual(result.good, start, `damage at ${at}`)
      assert.notStrictEqual(result.why, "")
      assert.deepStrictEqual(result.seen, ops.slice(0, record).map(describeOp), `damage at ${at}`)
    }
  })

  it("garbage after the last record (zeros of a file extended by a crash) is the torn tail", () => {
    const file = Buffer.concat([bytes, Buffer.alloc(5000)])
    const result = replay(file, () => 4096, 1 << 20)
    assert.strictEqual(result.good, bytes.length)
    assert.include(result.why, "invalid record length")
    assert.strictEqual(result.seen.length, ops.length)
  })

  it("a file that ends before its stat said (a read of 0 bytes) ends the replay there", () => {
    const replayer = new LogReplay(bytes.length + 1000, { put: () => {}, delete: () => {} }, 1 << 20)
    const step = replayer.next()
    assert.strictEqual(step._tag, "Read")
    if (step._tag !== "Read") return
    bytes.copy(step.into, 0, Log.HEADER_SIZE)
    replayer.advance(bytes.length - Log.HEADER_SIZE)
    const next = replayer.next()
    assert.strictEqual(next._tag, "Read")
    replayer.advance(0)
    assert.deepStrictEqual(replayer.next(), { _tag: "End", good: bytes.length, why: "" })
  })

  it("an empty log (a header only) asks for nothing", () => {
    const replayer = new LogReplay(Log.HEADER_SIZE, { put: () => {}, delete: () => {} })
    assert.deepStrictEqual(replayer.next(), { _tag: "End", good: Log.HEADER_SIZE, why: "" })
  })
})

describe("FileIndex.replaySink", () => {
  it("loads the live state: later records win, deletes and expired puts remove", () => {
    const index = new FileIndex()
    const now = 1020
    const result = new LogReplay(bytes.length, index.replaySink(now), 64)
    for (let step = result.next(), position = Log.HEADER_SIZE; step._tag === "Read"; step = result.next()) {
      const n = Math.min(step.into.length, bytes.length - position)
      bytes.copy(step.into, 0, position, position + n)
      position += n
      result.advance(n)
    }
    index.recount()
    const model = new Map<string, Op>()
    for (const op of ops) {
      if (op.data === undefined || op.expiresAt <= now) model.delete(op.token)
      else model.set(op.token, op)
    }
    assert.strictEqual(index.size, model.size)
    let live = 0
    for (const [token, op] of model) {
      assert.deepStrictEqual(index.find(token, now), op.data, token)
      live += Log.recordSize(Buffer.byteLength(token), op.data!.length)
    }
    assert.strictEqual(index.liveBytes, live)
    assert.strictEqual(index.liveSize, Log.HEADER_SIZE + live)
  })
})

describe("opening messages", () => {
  it("says why a header is refused, and what a torn tail cost", () => {
    assert.isUndefined(refusal({ _tag: "Valid" }))
    assert.isUndefined(refusal({ _tag: "Blank" }))
    assert.strictEqual(refusal({ _tag: "Foreign" }), "it is not a FileStore log")
    assert.strictEqual(refusal({ _tag: "Damaged" }), "its header is damaged")
    assert.include(refusal({ _tag: "UnsupportedVersion", version: 7 }), "(7)")
    assert.include(tornTailWarning(1000, 600, "checksum mismatch"), "dropped 400 bytes")
    assert.include(tornTailWarning(1000, 600, "checksum mismatch"), "offset 600 (checksum mismatch)")
  })
})
