/**
 * The log format, byte for byte: a log written by this version must open in every later one, so the bytes are
 * pinned here (any change to them is a format change, with a new version number). Format 1 (0.1.0) is still read:
 * its golden bytes are pinned too.
 */
import { assert, describe, it } from "vitest"
import { crc32 } from "../../src/core/crc32.js"
import * as Log from "../../src/core/fileLog.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** A header with a known secret: marker 0x04030201, key 05..10. */
const fixedHeader = (() => {
  const header = Buffer.alloc(Log.HEADER_SIZE)
  Log.MAGIC.copy(header, 0)
  header.writeUInt16LE(2, 8)
  for (let i = 0; i < 16; i++) header[12 + i] = i + 1
  header.writeUInt32LE(crc32(header, 0, 28), 28)
  return header
})()
const secret = Log.LogSecret.fromHeader(fixedHeader)

describe("fileLog: golden bytes (format 2)", () => {
  it("the header", () => {
    // "EFSESLOG", version 2, flags 0, the 16-byte secret, CRC-32 of the first 28 bytes
    assert.strictEqual(
      hex(Log.encodeHeader(secret)),
      "45465345534c4f47" + "0200" + "0000" + "0102030405060708090a0b0c0d0e0f10" + hex(fixedHeader.subarray(28))
    )
    assert.deepStrictEqual(Log.checkHeader(fixedHeader, Log.HEADER_SIZE), { _tag: "Valid", format: secret })
    assert.strictEqual(secret.marker, 0x04030201)
  })

  it("a put record: the marker, then a checksum keyed with the log's key", () => {
    const { data, record } = Log.encodePut(secret, Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3]))
    const body = "01" + // put
      "0300" + // token length
      "746f6b" + // "tok"
      "00008056febc7842" + // 1_700_000_000_000 as f64 LE
      "010203"
    // the checksum: CRC-32 of the key, the length field and the body
    const keyed = crc32(Buffer.concat([fixedHeader.subarray(16, 28), Buffer.from("11000000" + body, "hex")]))
    assert.strictEqual(keyed, 0xcb439d62)
    assert.strictEqual(
      hex(record),
      "01020304" + // the log's marker
        "11000000" + // body length 17 = 11 + 3 + 3
        "629d43cb" + // the keyed CRC-32
        body
    )
    assert.strictEqual(record.length, Log.recordSize(3, 3))
    // the data the index keeps is a view into the record, not a copy
    assert.deepStrictEqual([...data], [1, 2, 3])
    assert.strictEqual(data.buffer, record.buffer)
  })

  it("a delete record", () => {
    const record = Log.encodeDelete(secret, Buffer.from("tok"))
    const body = "02" + "0300" + "746f6b" + "0000000000000000"
    const keyed = crc32(Buffer.concat([fixedHeader.subarray(16, 28), Buffer.from("0e000000" + body, "hex")]))
    assert.strictEqual(
      hex(record),
      "01020304" + "0e000000" + hex(Buffer.from([keyed, keyed >>> 8, keyed >>> 16, keyed >>> 24])) + body
    )
  })

  it("writePutInto writes the same bytes as encodePut", () => {
    const target = Buffer.alloc(100, 0xee)
    const end = Log.writePutInto(secret, target, 10, Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3]))
    assert.strictEqual(end, 10 + Log.recordSize(3, 3))
    assert.strictEqual(
      hex(target.subarray(10, end)),
      hex(Log.encodePut(secret, Buffer.from("tok"), 1_700_000_000_000, new Uint8Array([1, 2, 3])).record)
    )
    assert.strictEqual(target[9], 0xee)
    assert.strictEqual(target[end], 0xee)
  })

  it("each log gets its own random secret, never a marker of zeros or ones", () => {
    const secrets = Array.from({ length: 100 }, () => Log.LogSecret.random())
    assert.strictEqual(new Set(secrets.map((s) => hex(s.bytes))).size, 100)
    for (const s of secrets) assert.notInclude([0, 0xffffffff], s.marker)
  })
})

describe("fileLog: format 1 (0.1.0) is still read", () => {
  const v1Header = "45465345534c4f47" + "0100" + "0000" + "8d1eaddf"
  const v1Put = "11000000" + "48dac346" + "01" + "0300" + "746f6b" + "00008056febc7842" + "010203"
  const v1Delete = "0e000000" + "5214b392" + "02" + "0300" + "746f6b" + "0000000000000000"

  it("its header and records", () => {
    assert.deepStrictEqual(Log.checkHeader(Buffer.from(v1Header, "hex"), 16), { _tag: "Valid", format: Log.FORMAT_1 })
    const records = Buffer.from(v1Put + v1Delete, "hex")
    const seen: Array<string> = []
    const sink: Log.ScanSink = {
      put: (token, expiresAt, buffer, start, end) =>
        seen.push(`put ${token} ${expiresAt} ${hex(buffer.subarray(start, end))}`),
      delete: (token) => seen.push(`delete ${token}`),
      forget: () => seen.push("forget")
    }
    assert.deepStrictEqual(Log.scanRecords(records, 0, records.length, sink, Log.FORMAT_1), {
      _tag: "Done",
      offset: records.length
    })
    assert.deepStrictEqual(seen, ["put tok 1700000000000 010203", "delete tok"])
  })
})

describe("fileLog: checkHeader", () => {
  const header = Log.encodeHeader(Log.LogSecret.random())

  it("classifies headers", () => {
    assert.strictEqual(Log.checkHeader(header, Log.HEADER_SIZE)._tag, "Valid")
    assert.deepStrictEqual(Log.checkHeader(header, 0), { _tag: "Blank" })
    // every prefix of a header is a log whose creation was interrupted
    for (let n = 1; n < Log.HEADER_SIZE; n++) assert.deepStrictEqual(Log.checkHeader(header, n), { _tag: "Blank" })
    const v1 = Buffer.from("45465345534c4f4701000000" + "8d1eaddf", "hex")
    for (let n = 1; n < Log.V1_HEADER_SIZE; n++) assert.deepStrictEqual(Log.checkHeader(v1, n), { _tag: "Blank" })
    assert.deepStrictEqual(Log.checkHeader(Buffer.from("user,email\n"), 11), { _tag: "Foreign" })
    assert.deepStrictEqual(Log.checkHeader(Buffer.from("user,email,name,x\n"), 18), { _tag: "Foreign" })
    const damaged = Buffer.from(header)
    damaged[10] = 1
    assert.deepStrictEqual(Log.checkHeader(damaged, Log.HEADER_SIZE), { _tag: "Damaged" })
    const damagedSecret = Buffer.from(header)
    damagedSecret[20] = damagedSecret[20]! ^ 1
    assert.deepStrictEqual(Log.checkHeader(damagedSecret, Log.HEADER_SIZE), { _tag: "Damaged" })
    const damagedV1 = Buffer.from(v1)
    damagedV1[10] = 1
    assert.deepStrictEqual(Log.checkHeader(damagedV1, Log.V1_HEADER_SIZE), { _tag: "Damaged" })
  })

  it("names a version it does not know", () => {
    const future = Buffer.from(header)
    future.writeUInt16LE(3, 8)
    assert.deepStrictEqual(Log.checkHeader(future, Log.HEADER_SIZE), { _tag: "UnsupportedVersion", version: 3 })
  })
})

describe("fileLog: scanRecords", () => {
  const sink = () => {
    const seen: Array<string> = []
    const s: Log.ScanSink = {
      put: (token, expiresAt, buffer, start, end) =>
        seen.push(`put ${token} ${expiresAt} ${hex(buffer.subarray(start, end))}`),
      delete: (token) => seen.push(`delete ${token}`),
      forget: () => seen.push("forget")
    }
    return { seen, sink: s }
  }

  it("hands each whole record to the sink and says what the rest is", () => {
    const a = Log.encodePut(secret, Buffer.from("a"), 5, new Uint8Array([9])).record
    const b = Log.encodeDelete(secret, Buffer.from("a"))
    const both = Buffer.concat([a, b])
    const done = sink()
    assert.deepStrictEqual(Log.scanRecords(both, 0, both.length, done.sink, secret), {
      _tag: "Done",
      offset: both.length
    })
    assert.deepStrictEqual(done.seen, ["put a 5 09", "delete a"])

    const cut = sink()
    assert.deepStrictEqual(Log.scanRecords(both, 0, both.length - 1, cut.sink, secret), {
      _tag: "NeedMore",
      offset: a.length,
      needed: b.length
    })
    assert.deepStrictEqual(Log.scanRecords(both, 0, 5, cut.sink, secret), { _tag: "NeedMore", offset: 0, needed: 15 })

    const flipped = Buffer.from(both)
    flipped[a.length + 16] = flipped[a.length + 16]! ^ 1
    const bad = sink()
    assert.deepStrictEqual(Log.scanRecords(flipped, 0, flipped.length, bad.sink, secret), {
      _tag: "Corrupt",
      offset: a.length,
      why: "checksum mismatch"
    })
    assert.deepStrictEqual(bad.seen, ["put a 5 09"])

    const zeros = Buffer.alloc(32)
    assert.deepStrictEqual(Log.scanRecords(zeros, 0, 32, sink().sink, secret), {
      _tag: "Corrupt",
      offset: 0,
      why: "no record marker"
    })
  })

  it("a record of another log (another secret), or framed without the key, does not verify", () => {
    const other = Log.LogSecret.random()
    const foreign = Log.encodePut(other, Buffer.from("victim"), 5, new Uint8Array([1])).record
    assert.isBelow(Log.probeRecord(foreign, 0, foreign.length, secret), 0)
    // even with this log's marker, a checksum computed without the key fails
    const forged = Buffer.from(foreign)
    secret.markerBytes.copy(forged, 0)
    forged.writeUInt32LE(crc32(forged, 12, forged.length, crc32(forged, 4, 8)), 8)
    assert.isTrue(Log.isChecksumMismatch(Log.probeRecord(forged, 0, forged.length, secret)))
    const genuine = Log.encodePut(secret, Buffer.from("victim"), 5, new Uint8Array([1])).record
    assert.strictEqual(Log.probeRecord(genuine, 0, genuine.length, secret), genuine.length)
  })
})
