/**
 * Bytes kept as "binary strings": one character per byte (latin1). An in-memory engine that keeps each session as
 * such a string instead of a `Uint8Array` saves the ArrayBuffer behind every entry: V8 stores the string inline in
 * its heap (16 bytes of header), where a `Uint8Array` costs an ArrayBuffer, a backing store allocated with malloc
 * and their bookkeeping. Converting back gives a fresh copy, so the stored bytes are never shared with a caller.
 *
 * @internal
 */
import { constants } from "node:buffer"

/** The longest byte array a binary string can hold. @internal */
export const MAX_BINARY_LENGTH: number = constants.MAX_STRING_LENGTH

/** The bytes as a binary string (a copy). The caller checks the length against `MAX_BINARY_LENGTH`. @internal */
export const toBinary = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

/**
 * A fresh copy of the bytes of a binary string, in memory of its own: never a slice of Node's shared buffer pool,
 * whose other bytes (other sessions, other requests) anyone holding the array could read through `.buffer`.
 *
 * @internal
 */
export const fromBinary = (binary: string): Uint8Array => {
  const out = Buffer.allocUnsafeSlow(binary.length)
  out.write(binary, 0, "latin1")
  return new Uint8Array(out.buffer, 0, binary.length)
}
