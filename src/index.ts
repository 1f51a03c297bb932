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
