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

/** @internal */
export interface StoreSettings {
  readonly prefix: string
  /** The bound of one round trip, rounded up to whole milliseconds. */
  readonly timeoutMs: number
  readonly scanCount: number
}

/**
 * The store's settings from its options, with defaults, or what is wrong with them. The shell has decoded the
 * `timeout` option (a duration of its Effect major) to `timeoutMillis`, and `timeoutText` is how to print it.
 *
 * @internal
 */
export const storeSettings = (
  options: { readonly prefix?: unknown; readonly scanCount?: unknown },
  timeoutMillis: number,
  timeoutText: string
): StoreSettings | string => {
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (typeof prefix !== "string") return `prefix must be a string, got ${String(prefix)}`
  const timeoutMs = Math.ceil(timeoutMillis)
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MILLIS)) {
    return `timeout must be more than 0 and at most 24 days, got ${timeoutText}`
  }
  const scanCount = options.scanCount ?? DEFAULT_SCAN_COUNT
  if (!(typeof scanCount === "number" && Number.isSafeInteger(scanCount) && scanCount > 0)) {
    return `scanCount must be a positive integer, got ${String(scanCount)}`
  }
  return { prefix, timeoutMs, scanCount }
}

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
