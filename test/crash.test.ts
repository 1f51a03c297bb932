/**
 * The example server on FileStore, killed with SIGKILL under HTTP load and restarted, round after round: the log
 * opens every time, and every session whose creation was acknowledged (a 200 with its cookie) is still there.
 *
 * A SIGKILL ends the process but not the machine, so records already written to the OS survive in every sync
 * mode; what `"everysec"` may lose is the last second on a power failure, which a test cannot cause.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startExample } from "./helpers/example.js"
import { CookieJar } from "./helpers/http.js"

const soak = process.env.SOAK === "1"
const ROUNDS = soak ? 10 : 3
const CLIENTS = 20

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-session-crash-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("FileStore: SIGKILL under HTTP load, then restart", () => {
  for (const sync of ["always", "everysec"] as const) {
    it.scopedLive(`sync "${sync}": ${ROUNDS} kills, every acknowledged session survives`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const env = { SESSION_STORE: "file", SESSION_FILE: join(dir, "sessions.log"), SESSION_SYNC: sync }
        const acknowledged: Array<string> = []
        for (let round = 0; round <= ROUNDS; round++) {
          yield* Effect.scoped(Effect.gen(function*() {
            // the log opens cleanly after every kill
            const { base, child } = yield* startExample("examples/basic.ts", env, "/health")
            const check = new CookieJar(base)
            const missing: Array<string> = []
            yield* Effect.forEach(acknowledged, (token) =>
              Effect.map(check.request("/get", { cookie: `session=${token}` }), (reply) => {
                if (reply.body !== "Hello world!\n") {
                  missing.push(token)
                }
              }), { concurrency: 16, discard: true })
            assert.deepStrictEqual(missing.length, 0, `round ${round}: ${missing.length} acknowledged sessions lost`)
            if (round === ROUNDS) {
              return
            }

            let killed = false
            const client = async () => {
              while (!killed) {
                try {
                  const response = await fetch(`${base}/put`)
                  await response.text()
                  const cookie = response.headers.getSetCookie()[0]
                  if (response.status === 200 && cookie !== undefined && !killed) {
                    acknowledged.push(cookie.slice("session=".length, cookie.indexOf(";")))
                  }
                } catch {
                  return // the server is gone
                }
              }
            }
            const kill = async () => {
              await new Promise((r) =>
                setTimeout(r, 300 + Math.random() * 1200)
              )
              // requests answered from here on are not counted: the kill may already be under way
              killed = true
              child.kill("SIGKILL")
              await new Promise((r) =>
                child.once("exit", r)
              )
            }
            const before = acknowledged.length
            yield* Effect.promise(() => Promise.all([kill(), ...Array.from({ length: CLIENTS }, client)]))
            assert.isAbove(acknowledged.length, before, "the load created no session before the kill")
          }))
        }
      }), { timeout: 180_000 })
  }
})
