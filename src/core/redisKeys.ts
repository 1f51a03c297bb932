/**
 * Keys, arguments and replies of RedisStore: a session lives in one Redis string under `prefix + token`; `all`
 * finds the keys with a `SCAN` whose `MATCH` pattern is the escaped full prefix.
 *
 * @internal
 */
import { isAscii } from "node:buffer"
import { isRedirect } from "./redisErrors.js"

/**
 * Escapes the glob characters of Redis `MATCH` patterns (`*`, `?`, `[`, `]`, `\`), so a prefix such as `"a*:"`
 * matches only keys that start with those exact characters.
 *
 * @internal
 */
export const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&")

/**
 * Where a store's keys are: ioredis applies a client's `keyPrefix` to every key argument, but not to `SCAN`
 * patterns nor to the keys `SCAN` returns, so those see `clientKeyPrefix + prefix + token`.
 *
 * @internal
 */
export interface Keyspace {
  /** The store's own prefix: commands are sent for `prefix + token` (the client adds its `keyPrefix`). */
  readonly prefix: string
  /** What every key starts with in Redis, as `SCAN` returns it: `clientKeyPrefix + prefix`. */
  readonly scanPrefix: string
  /** The `MATCH` pattern of `all`'s `SCAN`: the escaped `scanPrefix`, then `*`. */
  readonly pattern: string
}

/** @internal */
export const keyspace = (prefix: string, clientKeyPrefix: string | undefined): Keyspace => {
  const scanPrefix = (clientKeyPrefix ?? "") + prefix
  return { prefix, scanPrefix, pattern: `${escapeGlob(scanPrefix)}*` }
}

/**
 * The tokens of the keys a `SCAN` returned that were not returned before (`SCAN` may return a key more than once),
 * added to `seen`. Keys outside the keyspace are skipped. `"keyPrefix"` when a key does not start with the
 * scanned node's own `keyPrefix` (a Cluster whose `keyPrefix` differs from its nodes': the key could not be read
 * back through that node).
 *
 * @internal
 */
export const newTokens = (
  keys: ReadonlyArray<string>,
  space: Keyspace,
  nodeKeyPrefix: string,
  seen: Set<string>
): Array<string> | "keyPrefix" => {
  const { scanPrefix } = space
  const tokens: Array<string> = []
  for (const key of keys) {
    if (!key.startsWith(scanPrefix)) continue
    const token = key.slice(scanPrefix.length)
    if (seen.has(token)) continue
    if (!key.startsWith(nodeKeyPrefix)) return "keyPrefix"
    seen.add(token)
    tokens.push(token)
  }
  return tokens
}

/**
 * The key argument that reads `token` through a node whose client adds `nodeKeyPrefix` to every key.
 *
 * @internal
 */
export const nodeKey = (space: Keyspace, token: string, nodeKeyPrefix: string): string =>
  (space.scanPrefix + token).slice(nodeKeyPrefix.length)

/**
 * The argument that sends `data` as the value of a `SET`: always a copy (mutating `data` afterwards changes nothing
 * sent). Bytes that are all ASCII (session JSON usually is) go as a string, which has the same bytes on the wire:
 * ioredis writes a command with a `Buffer` argument, and the whole auto-pipelined batch it is part of, by
 * concatenating buffers, which costs more than the rest of the write.
 *
 * @internal
 */
export const toValue = (data: Uint8Array): string | Buffer =>
  data.byteLength === 0
    ? ""
    : isAscii(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1")
    : Buffer.from(data)

/**
 * A copy of a reply's bytes, which ioredis hands out as a view into its read buffers, in a `Uint8Array` that owns
 * its memory. (A copy from Node's shared buffer pool would be cheaper, but its `.buffer` would expose other
 * sessions' bytes.)
 *
 * @internal
 */
export const copyReply = (buffer: Buffer): Uint8Array => new Uint8Array(buffer)

/** A `GET` reply as the bytes of a session, or `undefined` for a missing key. @internal */
export const toBytes = (reply: Buffer | null): Uint8Array | undefined => reply === null ? undefined : copyReply(reply)

/**
 * The replies of a pipeline of `GET`s, one per token: the `[token, bytes]` pairs found (a key that expired or was
 * deleted since the `SCAN` is skipped), the tokens whose key moved to another node since (a `MOVED`/`ASK`
 * redirection: resharding), and the first other error.
 *
 * @internal
 */
export const pipelineReplies = (
  tokens: ReadonlyArray<string>,
  results: ReadonlyArray<[error: Error | null, value: unknown]> | null
): {
  readonly found: Array<readonly [string, Uint8Array]>
  readonly moved: Array<string>
  readonly error: Error | undefined
} => {
  const found: Array<readonly [string, Uint8Array]> = []
  const moved: Array<string> = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    const [error, value] = results?.[i] ?? [new Error("Redis returned no reply for a pipelined GET"), null]
    if (error !== null && isRedirect(error)) moved.push(token)
    else if (error !== null) return { found, moved, error }
    else if (value instanceof Buffer) found.push([token, copyReply(value)])
  }
  return { found, moved, error: undefined }
}
