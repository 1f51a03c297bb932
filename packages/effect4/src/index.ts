/**
 * effect-session for Effect 4: server-side sessions with storage engines as Layers.
 *
 * @since 1.0.0
 */

/**
 * @since 1.0.0
 */
export * as Store from "./Store.js"

/**
 * @since 1.0.0
 */
export * as MemStore from "./MemStore.js"

/**
 * @since 1.0.0
 */
export * as RedisStore from "./RedisStore.js"

/**
 * @since 1.0.0
 */
export * as FileStore from "./FileStore.js"

/**
 * @since 1.0.0
 */
export * as Session from "./Session.js"

/**
 * @since 1.0.0
 */
export * as HttpSession from "./HttpSession.js"
