/**
 * The session codec: what `Session` stores as bytes in a `SessionStore`.
 *
 * Format version 1: one version byte (`0x01`), then UTF-8 JSON
 * `{"d":deadlineMillis,"e":expiryMillis,"r":1?,"v":{...}}` where `d` is the absolute deadline, `e` the expiry the
 * record was saved with (the deadline or the idle timeout, whichever comes first: checked on load, so expiry never
 * depends on the store's own clock), `r` the remember-me flag and `v` maps key names to their Schema-encoded values. The version byte lets the format change later while
 * old sessions stay readable.
 *
 * @internal
 */

/** @internal */
export const VERSION = 1

/** @internal */
export interface SessionRecord {
  /** The absolute deadline, epoch milliseconds. */
  readonly deadline: number
  /** When this record expires (the earlier of the deadline and the idle timeout), epoch milliseconds. */
  readonly expiry: number
  readonly rememberMe: boolean
  readonly values: ReadonlyMap<string, unknown>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** @internal */
export const encode = (record: SessionRecord): Uint8Array => {
  // Object.fromEntries defines own properties, so a key named "__proto__" is stored as data, not as a prototype
  const values = Object.fromEntries(record.values)
  const json = JSON.stringify(
    record.rememberMe
      ? { d: record.deadline, e: record.expiry, r: 1, v: values }
      : { d: record.deadline, e: record.expiry, v: values }
  )
  const out = new Uint8Array(1 + Buffer.byteLength(json))
  out[0] = VERSION
  encoder.encodeInto(json, out.subarray(1))
  return out
}

/** @internal */
export type DecodeResult =
  | { readonly _tag: "Ok"; readonly record: SessionRecord }
  | { readonly _tag: "Corrupt"; readonly reason: string }

const corrupt = (reason: string): DecodeResult => ({ _tag: "Corrupt", reason })

/** @internal */
export const decode = (bytes: Uint8Array): DecodeResult => {
  if (bytes.length === 0) return corrupt("empty record")
  if (bytes[0] !== VERSION) return corrupt(`unknown format version ${bytes[0]}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(bytes.subarray(1)))
  } catch {
    return corrupt("not valid UTF-8 JSON")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return corrupt("not an object")
  const { d, e, r, v } = parsed as { d?: unknown; e?: unknown; r?: unknown; v?: unknown }
  if (typeof d !== "number" || !Number.isFinite(d)) return corrupt("missing deadline")
  if (typeof e !== "number" || !Number.isFinite(e)) return corrupt("missing expiry")
  if (typeof v !== "object" || v === null || Array.isArray(v)) return corrupt("missing values")
  if (r !== undefined && r !== 1) return corrupt("bad remember-me flag")
  return { _tag: "Ok", record: { deadline: d, expiry: e, rememberMe: r === 1, values: new Map(Object.entries(v)) } }
}
