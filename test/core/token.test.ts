/**
 * Session tokens: shape, uniqueness, and the store key derived from them.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import * as Token from "../../src/core/token.js"

describe("tokens", () => {
  it("are 43 base64url characters (32 random bytes), and 10,000 are distinct across pool refills", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const token = Token.generate()
      assert.match(token, Token.TOKEN_PATTERN)
      assert.strictEqual(Buffer.from(token, "base64url").length, Token.TOKEN_BYTES)
      seen.add(token)
    }
    assert.strictEqual(seen.size, 10_000)
  })

  it("isWellFormed accepts exactly that shape", () => {
    assert.isTrue(Token.isWellFormed(Token.generate()))
    for (const value of [undefined, "", "A".repeat(42), "A".repeat(44), "A".repeat(42) + "=", "A".repeat(42) + "+"]) {
      assert.isFalse(Token.isWellFormed(value), String(value))
    }
    assert.isFalse(Token.isWellFormed("A".repeat(42) + "/"))
    assert.isFalse(Token.isWellFormed("A".repeat(42) + "\n"))
  })

  it("hash is base64url(SHA-256(token))", () => {
    const token = Token.generate()
    assert.strictEqual(Token.hash(token), createHash("sha256").update(token).digest("base64url"))
    assert.notStrictEqual(Token.hash(token), token)
  })
})
