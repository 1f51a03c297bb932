/**
 * The fast-check properties both lines run, with no Effect import: hostile Cookie headers against a server, and
 * hostile stored records (the line checks each one through its `Session`).
 */
import fc from "fast-check"
import assert from "node:assert/strict"
import * as Codec from "../../src/core/codec.js"
import type { FetchJar } from "./jar.js"

/** A cookie header built from hostile parts. */
const cookieHeader = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.array(
    fc.tuple(
      fc.oneof(fc.constant("session"), fc.string({ maxLength: 10 })),
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 60 }),
        fc.stringMatching(/^[A-Za-z0-9_\-+/=%]{40,46}$/),
        fc.string({ maxLength: 43, minLength: 43 }).map(encodeURIComponent)
      )
    ),
    { maxLength: 6 }
  ).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("; ")),
  fc.integer({ min: 1, max: 60 }).map((kb) => `session=${"A".repeat(kb * 1024)}`)
)

/** Only what fetch can put in a header: visible ASCII and spaces/tabs, no CR/LF. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, "")

/**
 * Against a server whose `/get` reads the message key and `/put` sets it (with a header limit above 64 KB): no
 * crash, no store read for a malformed token (`calls` counts the engine's finds), no client-chosen token adopted.
 */
export const hostileCookies = (jar: FetchJar, calls: { readonly find: number }) =>
  fc.assert(
    fc.asyncProperty(cookieHeader, async (raw) => {
      const header = headerSafe(raw)
      const findsBefore = calls.find
      const reply = await jar.fetch("/get", { cookie: header })
      assert.equal(reply.status, 200)
      assert.equal(reply.body, "")
      const wellFormed = header.split(";").map((p) => p.trim()).find((p) => p.startsWith("session="))?.slice(8)
      if (wellFormed === undefined || !/^[A-Za-z0-9_-]{43}$/.test(wellFormed)) {
        assert.equal(calls.find, findsBefore, `a store read for ${JSON.stringify(header.slice(0, 80))}`)
      }
      const put = await jar.fetch("/put", { cookie: header })
      assert.equal(put.status, 200)
      const issued = put.setCookies[0]!.match(/^session=([^;]+)/)![1]!
      assert.match(issued, /^[A-Za-z0-9_-]{43}$/)
      assert.ok(!header.includes(issued), "a client-chosen token was adopted")
    }),
    { numRuns: 300 }
  )

/** The deadline written into the well-formed records (2099); store them with a later expiry. */
const deadline = Date.UTC(2099, 0, 1)
const record = (values: Map<string, unknown>) => Codec.encode({ deadline, expiry: deadline, rememberMe: false, values })

/**
 * Hostile stored records for a session whose keys are `message` (a string) and `count` (a number): random bytes,
 * well-formed records whose values fit neither schema, truncated records, wrong version bytes, and two of 10 MiB.
 * `check` stores one, reads both keys through the line's `Session` and asserts.
 */
export const hostileRecords = (check: (bytes: Uint8Array) => Promise<void>) =>
  fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        // well-formed records whose values do not fit the keys' schemas
        fc.record({ message: fc.anything(), count: fc.anything() }).map((values) =>
          record(new Map(Object.entries(values)))
        ),
        // truncated valid records
        fc.nat({ max: 60 }).map((n) => record(new Map([["message", "hello"]])).subarray(0, n)),
        // a wrong version byte
        fc.integer({ min: 2, max: 255 }).map((v) => {
          const bytes = record(new Map())
          bytes[0] = v
          return bytes
        })
      ),
      check
    ),
    {
      numRuns: 300,
      examples: [
        [new Uint8Array(10 * 1024 * 1024).fill(7)],
        [record(new Map([["message", "x".repeat(10 * 1024 * 1024)]]))]
      ]
    }
  )
