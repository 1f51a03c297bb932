/**
 * CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), the checksum zlib, PNG and gzip use.
 * `crc32(new TextEncoder().encode("123456789")) === 0xCBF43926`.
 *
 * Where the runtime has `node:zlib`'s `crc32` (Node >= 20.15 / 22.2) it checksums ranges of `NATIVE_MIN_BYTES` and
 * more (2-3x faster than JavaScript from 4 KiB on); shorter ranges, and every range on an older runtime, use the
 * table-driven slice-by-8 below (eight bytes per step, a few hundred megabytes per second; below about 1 KiB it
 * beats the native call, whose fixed cost dominates). Both give the same results, seeded or not, except on an
 * empty range, where zlib answers 0 whatever the seed: the threshold keeps empty ranges on the JavaScript path.
 *
 * @internal
 */

import * as zlib from "node:zlib"

const makeTables = (): Int32Array => {
  const tables = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    tables[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!
    for (let t = 1; t < 8; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8)
      tables[t * 256 + n] = c
    }
  }
  return tables
}

const T = makeTables()

/**
 * The JavaScript CRC-32, used when the runtime has no native one and for short ranges. Same contract as `crc32`.
 *
 * @internal
 */
export const crc32Js = (bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number => {
  let c = ~crc
  let i = start
  const end8 = end - 8
  while (i <= end8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
    c = T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + bytes[i + 4]!]! ^
      T[512 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!
    i += 8
  }
  while (i < end) {
    c = T[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
    i++
  }
  return ~c >>> 0
}

type NativeCrc32 = (data: Uint8Array, value?: number) => number

/**
 * `node:zlib`'s `crc32`, or `undefined` on a runtime without it (its type says it is always there; older Node
 * versions lack it).
 *
 * @internal
 */
export const crc32Native: NativeCrc32 | undefined = typeof (zlib as { readonly crc32?: unknown }).crc32 === "function"
  ? zlib.crc32
  : undefined

/**
 * Ranges at least this long go to the native CRC-32 when there is one (measured on Node 20 and 22: below about
 * 1 KiB the JavaScript loop is faster than the native call).
 *
 * @internal
 */
export const NATIVE_MIN_BYTES = 1024

/**
 * Continues a CRC-32 over `bytes[start, end)`. Pass the result of a previous call as `crc` to checksum data that
 * arrives in pieces; start from `0`. Returns an unsigned 32-bit integer.
 *
 * @internal
 */
export const crc32: (bytes: Uint8Array, start?: number, end?: number, crc?: number) => number =
  crc32Native === undefined
    ? crc32Js
    : ((native: NativeCrc32) => (bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number =>
      end - start >= NATIVE_MIN_BYTES
        ? native(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start), crc)
        : crc32Js(bytes, start, end, crc))(crc32Native)
