/**
 * The session codec: what `Session` stores as bytes in a `SessionStore`.
 *
 * Format version 1: one version byte (`0x01`), then UTF-8 JSON
 * `{"d":deadlineMillis,"e":expiryMillis,"r":1?,"v":{...}}` where `d` is the absolute deadline, `r` the remember-me
 * flag and `v` maps key names to their Schema-encoded values. `e` is what releases up to 0.2 checked on load as the
 * record's expiry; since the idle timeout is extended by moving only the store's expiry (a `touch`), the store's
 * expiry is the one that counts, and `e` is written as the deadline so that an older release reading a record
 * during a rolling deploy does not end a session early.
 *
 * A renew leaves a *marker* under the old store key for a short grace window:
 * `{"d":0,"e":untilMillis,"m":"<new store key>","v":{}}`. It is not a session: a new request that finds it finds
 * nothing (an older release reads it as a session past its deadline, so nothing either), and only a request that
 * loaded the real record before the renew follows it to merge its changes into the renewed session. The version
 * byte lets the format change later while old sessions stay readable.
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

const decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * Thrown by `encode` for a value that `JSON.stringify` refuses (a bigint, a cycle), naming its key.
 *
 * @internal
 */
export class UnencodableValue extends Error {
  constructor(readonly key: string, override readonly cause: unknown) {
    super(`the value of "${key}" cannot be stored as JSON (${cause instanceof Error ? cause.message : cause})`)
  }
}

/**
 * Encodes a record. The JSON is built by hand from the values' own JSON (`JSON.stringify` of each value, so a value
 * without a JSON form, such as `undefined`, is left out as `JSON.stringify` would), and the result comes from
 * Node's buffer pool: this runs on every write of every session, and a fresh `ArrayBuffer` per record costs more
 * than the JSON itself. The version byte is the string's first character: U+0001 is the byte 0x01 in UTF-8.
 * Throws `UnencodableValue` for a value `JSON.stringify` refuses (a bigint, a cycle).
 *
 * @internal
 */
export const encode = (record: SessionRecord): Uint8Array => {
  let json = record.rememberMe
    ? `\u0001{"d":${JSON.stringify(record.deadline)},"e":${JSON.stringify(record.expiry)},"r":1,"v":{`
    : `\u0001{"d":${JSON.stringify(record.deadline)},"e":${JSON.stringify(record.expiry)},"v":{`
  let first = true
  for (const [key, value] of record.values) {
    let encoded: string | undefined
    try {
      encoded = JSON.stringify(value)
    } catch (cause) {
      throw new UnencodableValue(key, cause)
    }
    if (encoded === undefined) continue
    json += first ? `${JSON.stringify(key)}:${encoded}` : `,${JSON.stringify(key)}:${encoded}`
    first = false
  }
  return Buffer.from(`${json}}}`, "utf8")
}

/**
 * A decoded record. Its `values` is the object `JSON.parse` made: every key is an own data property (a key named
 * `__proto__` included), so read it with `Object.keys` and indexing, never by assigning to it.
 *
 * @internal
 */
export interface DecodedRecord {
  readonly deadline: number
  readonly expiry: number
  readonly rememberMe: boolean
  readonly values: Readonly<Record<string, unknown>>
}

/** @internal */
export type DecodeResult =
  | { readonly _tag: "Ok"; readonly record: DecodedRecord }
  | { readonly _tag: "Marker"; readonly to: string; readonly until: number }
  | { readonly _tag: "Corrupt"; readonly reason: string }

/**
 * Encodes a renew's marker: the session moved to store key `to`; `until` is when the grace window ends.
 *
 * @internal
 */
export const encodeMarker = (to: string, until: number): Uint8Array =>
  Buffer.from(`\u0001{"d":0,"e":${JSON.stringify(until)},"m":${JSON.stringify(to)},"v":{}}`, "utf8")

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
  const { d, e, m, r, v } = parsed as { d?: unknown; e?: unknown; m?: unknown; r?: unknown; v?: unknown }
  if (typeof d !== "number" || !Number.isFinite(d)) return corrupt("missing deadline")
  if (typeof e !== "number" || !Number.isFinite(e)) return corrupt("missing expiry")
  if (typeof v !== "object" || v === null || Array.isArray(v)) return corrupt("missing values")
  if (r !== undefined && r !== 1) return corrupt("bad remember-me flag")
  if (m !== undefined) return typeof m === "string" ? { _tag: "Marker", to: m, until: e } : corrupt("bad marker")
  return { _tag: "Ok", record: { deadline: d, expiry: e, rememberMe: r === 1, values: v as Record<string, unknown> } }
}
