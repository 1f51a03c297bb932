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
  /** Written as the deadline (see the format above). */
  readonly expiry: number
  readonly rememberMe: boolean
  readonly values: ReadonlyMap<string, unknown>
  /** The user the session is bound to (`Session.setUser`), `u`. */
  readonly user?: string | undefined
  /** What the application attached at `setUser` for a list of sessions (a user agent...), `a`. */
  readonly info?: Readonly<Record<string, string>> | undefined
  /** When the session was created, epoch milliseconds, `c` (absent in records of earlier releases). */
  readonly created?: number | undefined
  /** When the session was last written, epoch milliseconds, `s`. */
  readonly seen?: number | undefined
}

/**
 * A user's index: the store keys of the sessions bound to the user, each with when it was added. Stored under
 * the user's own store key (see `userIndex.ts`) as `{"d":0,"e":expiryMillis,"i":[["key",addedMillis],...],"v":{}}`:
 * an earlier release reads it as a session past its deadline.
 *
 * @internal
 */
export interface IndexRecord {
  readonly members: ReadonlyArray<readonly [key: string, added: number]>
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
    ? `\u0001{"d":${JSON.stringify(record.deadline)},"e":${JSON.stringify(record.expiry)},"r":1,`
    : `\u0001{"d":${JSON.stringify(record.deadline)},"e":${JSON.stringify(record.expiry)},`
  if (record.user !== undefined) json += `"u":${JSON.stringify(record.user)},`
  if (record.info !== undefined) json += `"a":${JSON.stringify(record.info)},`
  if (record.created !== undefined) json += `"c":${JSON.stringify(record.created)},`
  if (record.seen !== undefined) json += `"s":${JSON.stringify(record.seen)},`
  json += `"v":{`
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
  readonly user: string | undefined
  readonly info: Readonly<Record<string, string>> | undefined
  readonly created: number | undefined
  readonly seen: number | undefined
}

/** @internal */
export type DecodeResult =
  | { readonly _tag: "Ok"; readonly record: DecodedRecord }
  | { readonly _tag: "Marker"; readonly to: string; readonly until: number }
  | { readonly _tag: "Index"; readonly index: IndexRecord }
  | { readonly _tag: "Corrupt"; readonly reason: string }

/**
 * Encodes a renew's marker: the session moved to store key `to`; `until` is when the grace window ends.
 *
 * @internal
 */
export const encodeMarker = (to: string, until: number): Uint8Array =>
  Buffer.from(`\u0001{"d":0,"e":${JSON.stringify(until)},"m":${JSON.stringify(to)},"v":{}}`, "utf8")

/**
 * Encodes a user's index (see `IndexRecord`); `expiry` is the latest deadline of its sessions.
 *
 * @internal
 */
export const encodeIndex = (index: IndexRecord, expiry: number): Uint8Array =>
  Buffer.from(`\u0001{"d":0,"e":${JSON.stringify(expiry)},"i":${JSON.stringify(index.members)},"v":{}}`, "utf8")

const isInfo = (a: unknown): a is Record<string, string> =>
  typeof a === "object" && a !== null && !Array.isArray(a) &&
  Object.keys(a).every((k) => typeof (a as Record<string, unknown>)[k] === "string")

const isMembers = (i: unknown): i is Array<[string, number]> =>
  Array.isArray(i) &&
  i.every((m) => Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "number")

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
  const { a, c, d, e, i, m, r, s, u, v } = parsed as Record<string, unknown>
  if (typeof d !== "number" || !Number.isFinite(d)) return corrupt("missing deadline")
  if (typeof e !== "number" || !Number.isFinite(e)) return corrupt("missing expiry")
  if (typeof v !== "object" || v === null || Array.isArray(v)) return corrupt("missing values")
  if (r !== undefined && r !== 1) return corrupt("bad remember-me flag")
  if (m !== undefined) return typeof m === "string" ? { _tag: "Marker", to: m, until: e } : corrupt("bad marker")
  if (i !== undefined) return isMembers(i) ? { _tag: "Index", index: { members: i } } : corrupt("bad index")
  if (u !== undefined && typeof u !== "string") return corrupt("bad user")
  if (a !== undefined && !isInfo(a)) return corrupt("bad session info")
  if (c !== undefined && (typeof c !== "number" || !Number.isFinite(c))) return corrupt("bad creation time")
  if (s !== undefined && (typeof s !== "number" || !Number.isFinite(s))) return corrupt("bad last-seen time")
  return {
    _tag: "Ok",
    record: {
      deadline: d,
      expiry: e,
      rememberMe: r === 1,
      values: v as Record<string, unknown>,
      user: u,
      info: a as Record<string, string> | undefined,
      created: c as number | undefined,
      seen: s as number | undefined
    }
  }
}
