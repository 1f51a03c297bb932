/**
 * The replay of a log at open, fed the way a file system feeds it: in reads of any size, from a file cut at any
 * byte (a crash in the middle of a write) or damaged anywhere.
 */
import { assert, describe, it } from "vitest"
import { crc32 } from "../../src/core/crc32.js"
import { FileIndex } from "../../src/core/fileIndex.js"
import * as Log from "../../src/core/fileLog.js"
import { damageReport, LogReplay, refusal, tornTailWarning } from "../../src/core/fileReplay.js"

/** A small deterministic PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Op = { readonly token: string; readonly expiresAt: number; readonly data: Uint8Array | undefined }

const secret = Log.LogSecret.random()

/** A log of `ops` (one record each), and the end offset of each record. */
const logOf = (ops: ReadonlyArray<Op>) => {
  const parts: Array<Buffer> = [Log.encodeHeader(secret)]
  const ends: Array<number> = []
  let offset = Log.HEADER_SIZE
  for (const op of ops) {
    const token = Buffer.from(op.token, "utf8")
    const record = op.data === undefined
      ? Log.encodeDelete(secret, token)
      : Log.encodePut(secret, token, op.expiresAt, op.data).record
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
const replay = (file: Buffer, readSize: () => number, chunkSize: number, format: Log.Format = secret) => {
  const seen: Array<string> = []
  const sink: Log.ScanSink = {
    put: (token, expiresAt, buffer, start, end) =>
      seen.push(`put ${token} ${expiresAt} ${buffer.subarray(start, end).toString("hex")}`),
    delete: (token) => seen.push(`delete ${token}`),
    forget: () => seen.push("forget")
  }
  const replay = new LogReplay(file.length, sink, format, chunkSize)
  let position = format.headerSize
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
      assert.deepStrictEqual(result.damage, [])
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
      assert.deepStrictEqual(result.damage, [], `cut at ${cut}: a torn tail, not damage`)
      assert.deepStrictEqual(result.seen, ops.slice(0, kept).map(describeOp), `cut at ${cut}`)
    }
  })

  it("a byte damaged anywhere: its record is skipped, every later one kept, every earlier one forgotten", () => {
    const sizes = prng(12)
    for (let at = Log.HEADER_SIZE; at < bytes.length; at++) {
      const damaged = Buffer.from(bytes)
      damaged[at] = damaged[at]! ^ 0x5a
      const record = ends.findIndex((end) => end > at)
      const start = record === 0 ? Log.HEADER_SIZE : ends[record - 1]!
      const result = replay(damaged, () => 1 + Math.floor(sizes() * 200), 64)
      if (record === ops.length - 1) {
        // the last record: nothing valid after it, a torn tail
        assert.strictEqual(result.good, start, `damage at ${at}`)
        assert.notStrictEqual(result.why, "")
        assert.deepStrictEqual(result.damage, [])
        assert.deepStrictEqual(result.seen, ops.slice(0, record).map(describeOp), `damage at ${at}`)
      } else {
        assert.strictEqual(result.good, bytes.length, `damage at ${at}`)
        assert.strictEqual(result.why, "")
        assert.deepStrictEqual(result.damage, [{ offset: start, length: ends[record]! - start }], `damage at ${at}`)
        assert.deepStrictEqual(
          result.seen,
          [...ops.slice(0, record).map(describeOp), "forget", ...ops.slice(record + 1).map(describeOp)],
          `damage at ${at}`
        )
      }
    }
  })

  it("several damaged regions, of any length, each followed by valid records", () => {
    const random = prng(13)
    for (let round = 0; round < 300; round++) {
      const damaged = Buffer.from(bytes)
      // two regions: overwrite from inside one record to inside a later one (never the last record)
      const regions: Array<{ first: number; last: number }> = []
      let from = 0
      for (const _ of [0, 1]) {
        const first = from + Math.floor(random() * 10)
        const last = first + Math.floor(random() * 5)
        if (last >= ops.length - 1) break
        regions.push({ first, last })
        from = last + 2
      }
      const expected: Array<string> = []
      let next = 0
      const damage: Array<{ offset: number; length: number }> = []
      for (const { first, last } of regions) {
        const start = first === 0 ? Log.HEADER_SIZE : ends[first - 1]!
        const garbageFrom = start + Math.floor(random() * (ends[first]! - start))
        const garbageTo = ends[last - 1] ?? start
        const to = Math.max(garbageFrom, garbageTo) + 1 + Math.floor(random() * (ends[last]! - garbageTo - 1))
        // every byte in [garbageFrom, to) changes (so every record from first to last is damaged)
        for (let i = garbageFrom; i < Math.min(to, ends[last]!); i++) {
          damaged[i] = damaged[i]! ^ (1 + Math.floor(random() * 255))
        }
        expected.push(...ops.slice(next, first).map(describeOp), "forget")
        damage.push({ offset: start, length: ends[last]! - start })
        next = last + 1
      }
      expected.push(...ops.slice(next).map(describeOp))
      const result = replay(damaged, () => 1 + Math.floor(random() * 300), 64)
      assert.deepStrictEqual(result.damage, damage, `round ${round}`)
      assert.deepStrictEqual(result.seen, expected, `round ${round}`)
      assert.strictEqual(result.good, bytes.length)
    }
  })

  it("a record framed inside a session value is never adopted, however its enclosing record is damaged", () => {
    // a user's value holds a complete record for another token, framed as format 1 and as format 2 (with this
    // log's marker, even: only the checksum key is unknown to the user)
    const victim = Buffer.from("someone-else")
    const v1 = Buffer.alloc(19 + victim.length + 2)
    v1.writeUInt32LE(11 + victim.length + 2, 0)
    v1[8] = Log.OP_PUT
    v1.writeUInt16LE(victim.length, 9)
    victim.copy(v1, 11)
    v1.writeDoubleLE(9e15, 11 + victim.length)
    v1.writeUInt32LE(crc32(v1, 8, v1.length, crc32(v1, 0, 4)), 4)
    const v2 = Buffer.concat([secret.markerBytes, Buffer.alloc(v1.length + 4)])
    v1.copy(v2, 4, 0, 4)
    v1.copy(v2, 12, 8)
    v2.writeUInt32LE(crc32(v2, 12, v2.length, crc32(v2, 4, 8)), 8)
    const value = Buffer.concat([
      Buffer.from("prefix"),
      v1,
      v2,
      Log.encodePut(Log.LogSecret.random(), victim, 9e15, Buffer.from("x")).record
    ])
    const history: Array<Op> = [
      { token: "before", expiresAt: 5000, data: Buffer.from("b") },
      { token: "attacker", expiresAt: 5000, data: value },
      { token: "after", expiresAt: 5000, data: Buffer.from("a") }
    ]
    const log = logOf(history)
    const start = log.ends[0]!
    const intact = replay(log.bytes, () => 1 << 20, 1 << 20)
    assert.deepStrictEqual(intact.seen, history.map(describeOp))
    // damage each byte of the enclosing record's framing, and some of its value
    for (let at = start; at < start + Log.RECORD_OVERHEAD + 12; at++) {
      const damaged = Buffer.from(log.bytes)
      damaged[at] = damaged[at]! ^ 0x21
      const result = replay(damaged, () => 1 + (at % 50), 64)
      assert.deepStrictEqual(
        result.seen,
        [describeOp(history[0]!), "forget", describeOp(history[2]!)],
        `damage at ${at}`
      )
      assert.deepStrictEqual(result.damage, [{ offset: start, length: log.ends[1]! - start }])
    }
  })

  it("format 1: a torn tail is cut; after damage, nothing can be trusted: the rest is one region, all forgotten", () => {
    // a format 1 log, as 0.1.0 wrote it
    const header = Buffer.from("45465345534c4f4701000000" + "8d1eaddf", "hex")
    const v1Record = (token: string, data: Buffer) => {
      const record = Buffer.alloc(19 + token.length + data.length)
      record.writeUInt32LE(11 + token.length + data.length, 0)
      record[8] = Log.OP_PUT
      record.writeUInt16LE(token.length, 9)
      record.write(token, 11, "latin1")
      record.writeDoubleLE(5000, 11 + token.length)
      data.copy(record, 19 + token.length)
      record.writeUInt32LE(crc32(record, 8, record.length, crc32(record, 0, 4)), 4)
      return record
    }
    const records = ["a", "b", "c"].map((token) => v1Record(token, Buffer.from(`value of ${token}`)))
    const file = Buffer.concat([header, ...records])
    const whole = replay(file, () => 7, 64, Log.FORMAT_1)
    assert.deepStrictEqual(whole.seen.length, 3)
    assert.deepStrictEqual(whole.damage, [])

    const torn = replay(file.subarray(0, file.length - 5), () => 7, 64, Log.FORMAT_1)
    assert.strictEqual(torn.good, 16 + records[0]!.length + records[1]!.length)
    assert.deepStrictEqual(torn.damage, [])
    assert.strictEqual(torn.seen.length, 2)

    const damaged = Buffer.from(file)
    damaged[16 + records[0]!.length + 3] = damaged[16 + records[0]!.length + 3]! ^ 1
    const result = replay(damaged, () => 7, 64, Log.FORMAT_1)
    const from = 16 + records[0]!.length
    assert.deepStrictEqual(result.damage, [{ offset: from, length: file.length - from }])
    assert.deepStrictEqual(result.seen, [result.seen[0]!, "forget"], "record c is not adopted, record a is forgotten")
  })

  it("searching damaged bytes is bounded: format 2 checksums only marked candidates, format 1 gives up", () => {
    // a region made to be expensive: a format 1 frame claiming a 60 MiB record at every byte
    const crafted = Buffer.alloc(4 * 1024 * 1024)
    for (let i = 0; i + 4 <= crafted.length; i += 4) crafted.writeUInt32LE(60 * 1024 * 1024 + 11, i)
    for (
      const [format, header] of [[secret, Log.encodeHeader(secret)], [Log.FORMAT_1, bytes.subarray(0, 0)]] as const
    ) {
      const head = format === Log.FORMAT_1 ? Buffer.from("45465345534c4f4701000000" + "8d1eaddf", "hex") : header
      const file = Buffer.concat([head, Buffer.from([0xff]), crafted, Buffer.alloc(70 * 1024 * 1024, 0x7f)])
      const started = performance.now()
      const result = replay(file, () => 1 << 22, 1 << 22, format)
      assert.isBelow(performance.now() - started, 20_000, `format ${format.version}`)
      assert.strictEqual(result.seen.filter((s) => s !== "forget").length, 0)
    }
  }, 60_000)

  it("garbage after the last record (zeros of a file extended by a crash) is the torn tail", () => {
    const file = Buffer.concat([bytes, Buffer.alloc(5000)])
    const result = replay(file, () => 4096, 1 << 20)
    assert.strictEqual(result.good, bytes.length)
    assert.include(result.why, "no record marker")
    assert.deepStrictEqual(result.damage, [])
    assert.strictEqual(result.seen.length, ops.length)
  })

  it("a file that ends before its stat said (a read of 0 bytes) ends the replay there", () => {
    const replayer = new LogReplay(
      bytes.length + 1000,
      { put: () => {}, delete: () => {}, forget: () => {} },
      secret,
      1 << 20
    )
    const step = replayer.next()
    assert.strictEqual(step._tag, "Read")
    if (step._tag !== "Read") return
    bytes.copy(step.into, 0, Log.HEADER_SIZE)
    replayer.advance(bytes.length - Log.HEADER_SIZE)
    const next = replayer.next()
    assert.strictEqual(next._tag, "Read")
    replayer.advance(0)
    assert.deepStrictEqual(replayer.next(), { _tag: "End", good: bytes.length, why: "", damage: [] })
  })

  it("an empty log (a header only) asks for nothing", () => {
    const replayer = new LogReplay(Log.HEADER_SIZE, { put: () => {}, delete: () => {}, forget: () => {} }, secret)
    assert.deepStrictEqual(replayer.next(), { _tag: "End", good: Log.HEADER_SIZE, why: "", damage: [] })
  })
})

describe("FileIndex.replaySink", () => {
  it("loads the live state: later records win, deletes and expired puts remove", () => {
    const index = new FileIndex()
    const now = 1020
    const result = new LogReplay(bytes.length, index.replaySink(now), secret, 64)
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

describe("FileIndex.replaySink after damage", () => {
  it("keeps exactly the sessions with a valid record after the damage, as that record says; counts the others", () => {
    const history: Array<Op> = [
      { token: "logged-out", expiresAt: 5000, data: Buffer.from("1") },
      { token: "idle", expiresAt: 5000, data: Buffer.from("2") },
      { token: "active", expiresAt: 5000, data: Buffer.from("3") },
      { token: "logged-out", expiresAt: 0, data: undefined }, // this delete is damaged below
      { token: "active", expiresAt: 5000, data: Buffer.from("4") },
      { token: "new", expiresAt: 5000, data: Buffer.from("5") }
    ]
    const log = logOf(history)
    const damaged = Buffer.from(log.bytes)
    damaged[log.ends[2]! + 20] = damaged[log.ends[2]! + 20]! ^ 0x10 // inside the delete's token
    const index = new FileIndex()
    const replayer = new LogReplay(damaged.length, index.replaySink(1000), secret, 64)
    let position = Log.HEADER_SIZE
    let step = replayer.next()
    for (; step._tag === "Read"; step = replayer.next()) {
      const n = damaged.copy(step.into, 0, position, Math.min(damaged.length, position + step.into.length))
      position += n
      replayer.advance(n)
    }
    index.recount()
    assert.deepStrictEqual(step._tag === "End" ? step.damage : undefined, [{
      offset: log.ends[2]!,
      length: log.ends[3]! - log.ends[2]!
    }])
    assert.isUndefined(index.find("logged-out", 1000), "a session deleted in the damaged bytes does not come back")
    assert.isUndefined(index.find("idle", 1000), "last saved before the damage: treated as gone")
    assert.deepStrictEqual(index.find("active", 1000), Buffer.from("4"))
    assert.deepStrictEqual(index.find("new", 1000), Buffer.from("5"))
    assert.strictEqual(index.forgotten, 2)
    assert.strictEqual(index.liveBytes, Log.recordSize(6, 1) + Log.recordSize(3, 1))
  })
})

describe("opening messages", () => {
  it("says why a header is refused, and what a torn tail cost", () => {
    assert.isUndefined(refusal({ _tag: "Valid", format: Log.FORMAT_1 }))
    assert.isUndefined(refusal({ _tag: "Blank" }))
    assert.strictEqual(refusal({ _tag: "Foreign" }), "it is not a FileStore log")
    assert.strictEqual(refusal({ _tag: "Damaged" }), "its header is damaged")
    assert.include(refusal({ _tag: "UnsupportedVersion", version: 7 }), "(7)")
    assert.include(tornTailWarning(1000, 600, "checksum mismatch"), "dropped 400 bytes")
    assert.include(tornTailWarning(1000, 600, "checksum mismatch"), "offset 600 (checksum mismatch)")
    const report = damageReport({
      path: "/data/s.log",
      format: 2,
      damage: [{ offset: 100, length: 40 }, { offset: 500, length: 60 }],
      records: 2,
      forgotten: 1,
      keptIn: "/data/s.log.damaged-x"
    })
    assert.include(
      report,
      "skipped 100 bytes (about 2 records) in 2 regions (40 bytes at offset 100, 60 bytes at offset 500)"
    )
    assert.include(report, "1 session last saved before the damage was dropped")
    assert.include(report, "kept in /data/s.log.damaged-x")
    assert.notInclude(report, "torn")
  })
})
