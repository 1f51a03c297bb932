import { randomBytes } from "node:crypto"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { crc32, crc32Js, crc32Native, NATIVE_MIN_BYTES } from "../../src/core/crc32.js"

const check = new TextEncoder().encode("123456789")

// sizes around the slice-by-8 step, the native threshold, and a few large ones
const sizes = [0, 1, 7, 8, 9, 63, 64, 65, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, NATIVE_MIN_BYTES + 1, 4096, 65_537]

describe("crc32", () => {
  it("uses node:zlib's crc32 where the runtime has it (Node >= 20.15 / 22.2)", () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
    const expected = major > 22 || (major === 22 && minor >= 2) || (major === 20 && minor >= 15) || major === 21
    expect(crc32Native !== undefined).toBe(expected)
    if (expected) expect(crc32Native).toBe((zlib as { readonly crc32?: unknown }).crc32)
  })

  it("gives the standard check value on both implementations", () => {
    expect(crc32(check)).toBe(0xcbf43926)
    expect(crc32Js(check)).toBe(0xcbf43926)
    if (crc32Native) expect(crc32Native(check)).toBe(0xcbf43926)
    const big = new Uint8Array(NATIVE_MIN_BYTES * 2)
    expect(crc32(big)).toBe(crc32Js(big))
  })

  it("matches the native crc32 on random buffers, whole, in ranges of a larger buffer, and seeded", () => {
    for (const size of sizes) {
      for (let round = 0; round < 5; round++) {
        const pad = round % 3
        const buffer = randomBytes(size + 2 * pad)
        const seed = round === 0 ? 0 : randomBytes(4).readUInt32LE(0)
        const js = crc32Js(buffer, pad, pad + size, seed)
        expect(crc32(buffer, pad, pad + size, seed)).toBe(js)
        // (zlib returns 0 for an empty buffer whatever the seed, where chaining needs the seed back: the
        // wrapper never sends it an empty range)
        if (crc32Native && size > 0) expect(crc32Native(buffer.subarray(pad, pad + size), seed)).toBe(js)
        if (size === 0) expect(crc32(buffer, pad, pad, seed)).toBe(seed)
        expect(js).toBeGreaterThanOrEqual(0)
        expect(js).toBeLessThanOrEqual(0xffffffff)
      }
    }
  })

  it("chained over pieces equals the checksum of the whole, as the file log seeds its records", () => {
    for (let round = 0; round < 20; round++) {
      const record = randomBytes(12 + Math.floor(Math.random() * 3 * NATIVE_MIN_BYTES))
      const seed = randomBytes(4).readUInt32LE(0)
      // the log's record checksum: the 4 bytes at [4, 8) seeded with the log's secret, then the body from 12 on
      const chained = crc32(record, 12, record.length, crc32(record, 4, 8, seed))
      const whole = crc32Js(Buffer.concat([record.subarray(4, 8), record.subarray(12)]), 0, undefined, seed)
      expect(chained).toBe(whole)
      expect(crc32Js(record, 12, record.length, crc32Js(record, 4, 8, seed))).toBe(chained)
      // any split point gives the same
      const cut = 12 + Math.floor(Math.random() * (record.length - 12))
      expect(crc32(record, cut, record.length, crc32(record, 12, cut, crc32(record, 4, 8, seed)))).toBe(chained)
    }
  })

  it("a flipped bit changes the checksum on both paths", () => {
    for (const size of [16, 4096]) {
      const buffer = randomBytes(size)
      const before = crc32(buffer)
      buffer[size >> 1]! ^= 1
      expect(crc32(buffer)).not.toBe(before)
      expect(crc32(buffer)).toBe(crc32Js(buffer))
    }
  })
})
