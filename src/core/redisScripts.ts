/**
 * RedisStore's conditional operations (`load`, `saveIf`, `touch`) as Lua scripts, shared by both lines.
 *
 * A version is the hex SHA-1 of the bytes stored under the key: a digest, not a stored counter, so the storage
 * format is unchanged (one Redis string per session, with a `PX` TTL) and a value written by `save`, or by a release
 * without these operations, has a version like any other. The client computes the digest of what it reads or
 * writes; a script compares it with `redis.sha1hex` of the value it holds. Each script touches one key only, so it
 * runs on a Cluster like any single-key command, and each runs atomically on the server.
 *
 * Scripts are sent with `EVALSHA`, and with `EVAL` (which also caches them) when the server answers `NOSCRIPT` (a
 * server that restarted, a Cluster master that took over, a `SCRIPT FLUSH`): both in the one round trip that the
 * store's deadline bounds. The caller's client is not changed (no `defineCommand`).
 *
 * Live means what `find` returns on the Effect side: a key whose `PTTL` is 0 (it expires within the current
 * millisecond) counts as gone for `load` (which would report an expiry of now), for `saveIf` without a version and
 * for `touch`. The one exception is `saveIf` with a version (see `SAVE_IF`): it writes an entry in its last
 * millisecond that still holds the version a request loaded while it was live.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import type { Client } from "./redisCluster.js"
import { RedisFailure } from "./redisErrors.js"
import { copyReply } from "./redisKeys.js"

/** The version of `bytes`: their SHA-1, in lower-case hex (what Redis' `redis.sha1hex` answers). @internal */
export const versionOf: (bytes: Uint8Array) => string = typeof Crypto.hash === "function"
  // the one-shot digest (Node 20.12+) makes no Hash object: about twice as fast for a session's bytes
  ? (bytes) => Crypto.hash("sha1", bytes, "hex")
  : (bytes) => Crypto.createHash("sha1").update(bytes).digest("hex")

/** A Lua script and its SHA-1, the name `EVALSHA` knows it by. @internal */
export interface Script {
  readonly lua: string
  readonly sha: string
}

const script = (lua: string): Script => ({ lua, sha: Crypto.createHash("sha1").update(lua).digest("hex") })

/**
 * `load`: `false` (a nil reply) when there is no live entry, else `{value, pttl}` (`pttl` -1: the key has no TTL,
 * which no store operation writes).
 *
 * @internal
 */
export const LOAD = script(
  `local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 or ttl == 0 then return false end
return {redis.call('GET', KEYS[1]), ttl}`
)

/**
 * `saveIf`: ARGV = value, milliseconds to live (not above 0: remove the entry), and the expected version, absent
 * for "only when there is no live entry". 1 when the condition held (and the entry was written or removed), else 0.
 *
 * With a version, the entry is read with `GET` alone (one command fewer: the script's cost is mostly per command):
 * `GET` answers nothing for an expired entry, and an entry in its last millisecond (`PTTL` 0) that still holds the
 * version the request loaded while it was live is written, as it would have been a millisecond earlier.
 *
 * @internal
 */
export const SAVE_IF = script(
  `local key = KEYS[1]
if #ARGV >= 3 then
  local value = redis.call('GET', key)
  if not value or redis.sha1hex(value) ~= ARGV[3] then return 0 end
else
  local ttl = redis.call('PTTL', key)
  if ttl > 0 or ttl == -1 then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
else
  redis.call('DEL', key)
end
return 1`
)

/**
 * `touch`: ARGV = the expected version, milliseconds to live (not above 0: remove the entry). 1 when the live entry
 * held that version (and its TTL was moved, or it was removed), else 0.
 *
 * @internal
 */
export const TOUCH = script(
  `local key = KEYS[1]
local ttl = redis.call('PTTL', key)
if not (ttl > 0 or ttl == -1) or redis.sha1hex(redis.call('GET', key)) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', key, ARGV[2])
else
  redis.call('DEL', key)
end
return 1`
)

/** The scripting commands of ioredis (`Redis` and `Cluster`) with binary replies, missing from its types. */
interface ScriptCommands {
  readonly evalshaBuffer: (sha: string, numKeys: number, ...args: Array<string | Buffer | number>) => Promise<unknown>
  readonly evalBuffer: (lua: string, numKeys: number, ...args: Array<string | Buffer | number>) => Promise<unknown>
}

/** Whether `error` is Redis' answer to an `EVALSHA` of a script it does not hold. @internal */
export const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.name === "ReplyError" && error.message.startsWith("NOSCRIPT")

/**
 * Runs `script` on `key` with `args` (bulk strings and integers come back as `Buffer`s and numbers): `EVALSHA`,
 * then `EVAL` when the server does not hold the script. Both go through the client's own sending (auto-pipelining,
 * Cluster routing by `key`, its `keyPrefix` applied to `key`).
 *
 * @internal
 */
export const evalScript = (
  client: Client,
  script: Script,
  key: string,
  args: ReadonlyArray<string | Buffer | number>
): Promise<unknown> => {
  const commands = client as unknown as ScriptCommands
  return commands.evalshaBuffer(script.sha, 1, key, ...args).catch((error: unknown) => {
    if (!isNoScript(error)) throw error
    return commands.evalBuffer(script.lua, 1, key, ...args)
  })
}

/**
 * The milliseconds to live that an expiry of `expiryMillis` leaves at `nowMillis`, rounded up to a whole
 * millisecond (`PX` and `PEXPIRE` take integers; an entry that expires after now, even by a fraction, stays).
 *
 * @internal
 */
export const millisToLive = (expiryMillis: number, nowMillis: number): number => Math.ceil(expiryMillis - nowMillis)

/** The expiry `load` reports for a key without a TTL (none of the store's writes makes one): the last `Date`. @internal */
export const NO_EXPIRY_MILLIS = 8_640_000_000_000_000

/** A live entry as `load` read it: its bytes (a copy), their version, and its expiry on the caller's clock. @internal */
export interface Loaded {
  readonly data: Uint8Array
  readonly version: string
  readonly expiryMillis: number
}

const unexpected = (method: string, reply: unknown): RedisFailure =>
  new RedisFailure("Io", method, `Redis answered the ${method} script with an unexpected reply: ${String(reply)}`)

/** The reply of `LOAD` as the entry, its expiry `pttl` after `nowMillis`; `undefined` when there is none. @internal */
export const toLoaded = (reply: unknown, nowMillis: number): Loaded | undefined => {
  if (reply === null) return undefined
  if (!Array.isArray(reply) || !(reply[0] instanceof Buffer) || typeof reply[1] !== "number") {
    throw unexpected("load", reply)
  }
  return loadedOf(reply[0], reply[1], nowMillis)
}

/**
 * The replies of `GET` and `PTTL` of one key, sent together, as the entry (`undefined` when there is none, as
 * `LOAD` decides it: no value, or a `PTTL` of -2 or 0).
 *
 * @internal
 */
export const toLoadedPair = (value: unknown, ttl: unknown, nowMillis: number): Loaded | undefined => {
  if (value === null || ttl === -2 || ttl === 0) return undefined
  if (!(value instanceof Buffer) || typeof ttl !== "number") throw unexpected("load", [value, ttl])
  return loadedOf(value, ttl, nowMillis)
}

const loadedOf = (value: Buffer, ttl: number, nowMillis: number): Loaded => ({
  data: copyReply(value),
  version: versionOf(value),
  expiryMillis: ttl < 0 ? NO_EXPIRY_MILLIS : nowMillis + ttl
})

/** The reply of `SAVE_IF` or `TOUCH`: whether the condition held. @internal */
export const toApplied = (method: string, reply: unknown): boolean => {
  if (reply === 1) return true
  if (reply === 0) return false
  throw unexpected(method, reply)
}
