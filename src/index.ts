/**
 * Server-side sessions for Effect programs.
 *
 * @since 0.1.0
 */

/**
 * The `SessionStore` contract every engine provides, its error, and accessors.
 *
 * @since 0.1.0
 */
export * as Store from "./Store.js"

/**
 * The in-memory engine.
 *
 * @since 0.1.0
 */
export * as MemStore from "./MemStore.js"

/**
 * The Redis engine (standalone or Cluster; needs the optional peer `ioredis`).
 *
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"

/**
 * The embedded, persistent engine: an append-only log file plus an in-memory index.
 *
 * @since 0.1.0
 */
export * as FileStore from "./FileStore.js"

/**
 * The session: typed keys, lifecycle (renew, destroy), and the framework-agnostic `SessionManager`.
 *
 * @since 0.1.0
 */
export * as Session from "./Session.js"

/**
 * Adapters into `@effect/platform`'s HTTP server.
 *
 * @since 0.1.0
 */
export * as HttpSession from "./HttpSession.js"
