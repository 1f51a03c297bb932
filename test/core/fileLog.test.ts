/**
 * The log format, byte for byte: a log written by this version must open in every later one, so the bytes are
 * pinned here (any change to them is a format change, with a new version number).
 */
import { assert, describe, it } from "vitest"
import { crc32 } from "../../src/core/crc32.js"
import * as Log from "../../src/core/fileLog.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("fileLog: golden bytes", () => {
  it("the header", () => {
    // "EFSESLOG", version 1, flags 0, CRC-32 of the first 12 bytes
    assert.strictEqual(hex(Log.encodeHeader()), "45465345534c4f47" + "0100" + "0000" + "8d1eaddf")
    assert.strictEqual(Log.encodeHeader().length, Log.HEADER_SIZE)
  })

  it("a put record", () => {
    const { data, record } = Log.encodePut(Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3]))
    assert.strictEqual(
      hex(record),
      "11000000" + // body length 17 = 11 + 3 + 3
        "48dac346" + // CRC-32 of the length field and the body
        "01" + // put
        "0300" + // token length
        "746f6b" + // "tok"
        "00008056febc7842" + // 1_700_000_000_000 as f64 LE
        "010203"
    )
    assert.strictEqual(record.length, Log.recordSize(3, 3))
    // the data the index keeps is a view into the record, not a copy
    assert.deepStrictEqual([...data], [1, 2, 3])
    assert.strictEqual(data.buffer, record.buffer)
  })

  it("a delete record", () => {
    assert.strictEqual(
      hex(Log.encodeDelete(Buffer.from("tok"))),
      "0e000000" + "5214b392" + "02" + "0300" + "746f6b" + "0000000000000000"
    )
  })

  it("writePutInto writes the same bytes as encodePut", () => {
    const target = Buffer.alloc(100, 0xee)
    const end = Log.writePutInto(target, 10, Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3]))
    assert.strictEqual(end, 10 + Log.recordSize(3, 3))
    assert.strictEqual(
      hex(target.subarray(10, end)),
      hex(Log.encodePut(Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3])).record)
    )
    assert.strictEqual(target[9], 0xee)
    assert.strictEqual(target[end], 0xee)
  })
})

describe("fileLog: checkHeader", () => {
  const header = Log.encodeHeader()

  it("classifies headers", () => {
    assert.deepStrictEqual(Log.checkHeader(header, Log.HEADER_SIZE), { _tag: "Valid" })
    assert.deepStrictEqual(Log.checkHeader(header, 0), { _tag: "Blank" })
    // every prefix of a header is a log whose creation was interrupted
    for (let n = 1; n < Log.HEADER_SIZE; n++) assert.deepStrictEqual(Log.checkHeader(header, n), { _tag: "Blank" })
    assert.deepStrictEqual(Log.checkHeader(Buffer.from("user,email\n"), 11), { _tag: "Foreign" })
    assert.deepStrictEqual(Log.checkHeader(Buffer.from("user,email,name,x\n"), 18), { _tag: "Foreign" })
    const damaged = Buffer.from(header)
    damaged[10] = 1
    assert.deepStrictEqual(Log.checkHeader(damaged, Log.HEADER_SIZE), { _tag: "Damaged" })
  })

  it("names a version it does not know", () => {
    const future = Buffer.from(header)
    future.writeUInt16LE(2, 8)
    // a valid checksum over the new version
    future.writeUInt32LE(crc32(future, 0, 12), 12)
    assert.deepStrictEqual(Log.checkHeader(future, Log.HEADER_SIZE), { _tag: "UnsupportedVersion", version: 2 })
  })
})

describe("fileLog: scanRecords", () => {
  const sink = () => {
    const seen: Array<string> = []
    const s: Log.ScanSink = {
      put: (token, expiresAt, buffer, start, end) =>
        seen.push(`put ${token} ${expiresAt} ${hex(buffer.subarray(start, end))}`),
      delete: (token) => seen.push(`delete ${token}`)
    }
    return { seen, sink: s }
  }

  it("hands each whole record to the sink and says what the rest is", () => {
    const a = Log.encodePut(Buffer.from("a"), 5, new Uint8Array([9])).record
    const b = Log.encodeDelete(Buffer.from("a"))
    const both = Buffer.concat([a, b])
    const done = sink()
    assert.deepStrictEqual(Log.scanRecords(both, 0, both.length, done.sink), { _tag: "Done", offset: both.length })
    assert.deepStrictEqual(done.seen, ["put a 5 09", "delete a"])

    const cut = sink()
    assert.deepStrictEqual(Log.scanRecords(both, 0, both.length - 1, cut.sink), {
      _tag: "NeedMore",
      offset: a.length,
      needed: b.length
    })
    assert.deepStrictEqual(Log.scanRecords(both, 0, 5, cut.sink), { _tag: "NeedMore", offset: 0, needed: 8 })

    const flipped = Buffer.from(both)
    flipped[a.length + 9] = flipped[a.length + 9]! ^ 1
    const bad = sink()
    assert.deepStrictEqual(Log.scanRecords(flipped, 0, flipped.length, bad.sink), {
      _tag: "Corrupt",
      offset: a.length,
      why: "checksum mismatch"
    })
    assert.deepStrictEqual(bad.seen, ["put a 5 09"])

    const zeros = Buffer.alloc(32)
    assert.strictEqual(Log.scanRecords(zeros, 0, 32, sink().sink)._tag, "Corrupt")
  })
})
