/**
 * The shapes of ioredis that the public types of both lines' `RedisStore` use, described here so that those types
 * do not require ioredis: a program that does not use Redis compiles without it installed (`skipLibCheck: false`).
 *
 * @internal
 */

/**
 * The part of an ioredis client (`Redis` or `Cluster`, ioredis 5) that the store relies on, described here so that
 * this module's types do not require ioredis. Pass the `Redis` or `Cluster` itself; `RedisStore.client` is that
 * same object (cast it back to your ioredis type to use the rest of its API).
 *
 * @category models
 */
export interface RedisClient {
  /** `false` for a standalone `Redis`, `true` for a `Cluster`. */
  readonly isCluster: boolean
  /** The connection status (`"wait"`, `"connecting"`, `"ready"`, `"reconnecting"`, `"end"`...). */
  readonly status: string
  readonly getBuffer: (key: string) => Promise<Uint8Array | null>
  readonly del: (...keys: Array<string>) => Promise<number>
  readonly on: (event: "error" | "ready", listener: (...args: Array<any>) => void) => unknown
  readonly off: (event: "error" | "ready", listener: (...args: Array<any>) => void) => unknown
}

/**
 * The ioredis settings `clientDefaults` returns: assignable to ioredis' `RedisOptions`.
 *
 * @category models
 */
export interface ClientDefaults {
  readonly connectTimeout: number
  readonly commandTimeout: number
  readonly enableOfflineQueue: boolean
  readonly maxRetriesPerRequest: number
  readonly retryStrategy: (attempt: number) => number
}
