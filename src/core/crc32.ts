/**
 * CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), the checksum zlib, PNG and gzip use. Table-driven,
 * slice-by-8: eight bytes per step, fast enough to verify a few hundred megabytes of log per second in plain
 * JavaScript. `crc32(new TextEncoder().encode("123456789")) === 0xCBF43926`.
 *
 * @internal
 */

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
 * Continues a CRC-32 over `bytes[start, end)`. Pass the result of a previous call as `crc` to checksum data that
 * arrives in pieces; start from `0`. Returns an unsigned 32-bit integer.
 *
 * @internal
 */
export const crc32 = (bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number => {
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
