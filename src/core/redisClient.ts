/**
 * The ioredis client a store creates for itself: its settings, the checks on the store's options, and loading
 * `ioredis` (an optional peer dependency) only when such a client is made.
 *
 * @internal
 */
import type { Redis, RedisOptions } from "ioredis"
import { RedisFailure } from "./redisErrors.js"

/** @internal */
export const DEFAULT_TIMEOUT_MILLIS = 2000
/** @internal */
export const DEFAULT_PREFIX = "session:"
/** @internal */
export const DEFAULT_SCAN_COUNT = 1000
/** The longest timer Node keeps (about 24.8 days). @internal */
export const MAX_TIMEOUT_MILLIS = 2_147_483_647

/**
 * The ioredis settings a store-owned client starts from, for a round-trip bound of `timeoutMillis` (see the shells'
 * `clientDefaults` for what each one does).
 *
 * @internal
 */
export const clientDefaults = (timeoutMillis = DEFAULT_TIMEOUT_MILLIS): RedisOptions => ({
  connectTimeout: timeoutMillis,
  commandTimeout: timeoutMillis,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt - 1, 10), 1000)
})

/**
 * The settings of a client the store creates: the defaults, auto-pipelining on, and then the user's `redis`
 * options over them.
 *
 * @internal
 */
export const ownedClientOptions = (timeoutMillis: number, redis: RedisOptions | undefined): RedisOptions => ({
  ...clientDefaults(timeoutMillis),
  enableAutoPipelining: true,
  ...redis
})

/** What is wrong with a `prefix` option, or `undefined` when it is a string. @internal */
export const prefixProblem = (prefix: unknown): string | undefined =>
  typeof prefix === "string" ? undefined : `prefix must be a string, got ${String(prefix)}`

/** What is wrong with a round-trip bound of `millis` (already rounded up), or `undefined`. @internal */
export const timeoutProblem = (millis: number, formatted: string): string | undefined =>
  millis > 0 && millis <= MAX_TIMEOUT_MILLIS
    ? undefined
    : `timeout must be more than 0 and at most 24 days, got ${formatted}`

/** Whether `url` is a `redis://` or `rediss://` URL. @internal */
export const isRedisUrl = (url: unknown): url is string => {
  if (typeof url !== "string") return false
  try {
    const protocol = new URL(url).protocol
    return protocol === "redis:" || protocol === "rediss:"
  } catch {
    return false
  }
}

/**
 * Loads `ioredis` and creates a client for `url` (when given) with `options`; rejects with an `InvalidInput`
 * `RedisFailure` when `ioredis` is not installed or rejects the options. The client connects in the background.
 *
 * @internal
 */
export const createClient = async (
  method: string,
  url: string | undefined,
  options: RedisOptions
): Promise<Redis> => {
  let Client: typeof Redis
  try {
    Client = (await import("ioredis")).Redis
  } catch (cause) {
    throw new RedisFailure("InvalidInput", method, "RedisStore needs the ioredis package: npm install ioredis", cause)
  }
  try {
    return url === undefined ? new Client(options) : new Client(url, options)
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    throw new RedisFailure("InvalidInput", method, `ioredis rejected the options: ${message}`, cause)
  }
}
