/**
 * Session tokens: 32 bytes from the operating system's CSPRNG, base64url without padding (43 characters).
 *
 * @internal
 */
import * as Crypto from "node:crypto"

/** @internal */
export const TOKEN_BYTES = 32

/** @internal */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

// Random bytes are drawn from the CSPRNG 256 tokens at a time: one call into OpenSSL instead of one per token
// (the same pooling Node's crypto.randomUUID does). Each token uses its 32 bytes once.
const POOL_TOKENS = 256
const pool = Buffer.allocUnsafeSlow(TOKEN_BYTES * POOL_TOKENS)
let poolOffset = pool.length

/** @internal */
export const generate = (): string => {
  if (poolOffset + TOKEN_BYTES > pool.length) {
    Crypto.randomFillSync(pool)
    poolOffset = 0
  }
  const token = pool.toString("base64url", poolOffset, poolOffset + TOKEN_BYTES)
  // wipe what was handed out, so the pool only ever holds tokens not yet issued
  pool.fill(0, poolOffset, poolOffset + TOKEN_BYTES)
  poolOffset += TOKEN_BYTES
  return token
}

/** @internal */
export const isWellFormed = (value: string | undefined): value is string =>
  value !== undefined && value.length === 43 && TOKEN_PATTERN.test(value)

/** The key a token is stored under when `hashTokenInStore` is on: base64url(SHA-256(token)). @internal */
export const hash: (token: string) => string = typeof Crypto.hash === "function"
  // the one-shot digest (Node 20.12+) makes no Hash object: about twice as fast for a token
  ? (token) => Crypto.hash("sha256", token, "base64url")
  : (token) => Crypto.createHash("sha256").update(token).digest("base64url")
