/**
 * FileStore killed with SIGKILL, on the Effect 4 line:
 *
 * - a child process (test/fixtures/fileStoreCrashChild.ts, run with this Node, 22, and tsx) writes with
 *   `sync: "always"` and prints each acknowledged write; it is killed at random moments, 20 times, and every reopen
 *   must find every acknowledged write (and a live child's lock must refuse a second owner);
 * - the example server on FileStore, killed under HTTP load and restarted, round after round: every session whose
 *   creation was acknowledged (a 200 with its cookie) is still there.
 *
 * A SIGKILL ends the process but not the machine, so records already written to the OS survive in every sync
 * mode; what `"everysec"` may lose is the last second on a power failure, which a test cannot cause.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as ChildProcess from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { valueOf } from "../../../test/fixtures/fileStoreCrashData.js"
import * as FileStore from "../src/FileStore.js"
import { packageDir, startExample } from "./helpers/example.js"
import { CookieJar } from "./helpers/http.js"

/** A fresh temporary folder for the current scope, and the log path inside it. */
const tempPath = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "filestore-" })
  return NodePath.join(dir, "sessions.log")
})

const findBytes = (store: FileStore.FileStore, token: string) => Effect.map(store.find(token), Option.getOrUndefined)

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b))

const withStore = <A, E, R>(
  options: FileStore.FileStoreOptions,
  f: (store: FileStore.FileStore) => Effect.Effect<A, E, R>
) => Effect.scoped(Effect.flatMap(FileStore.make(options), f))

/** Captures log messages at warning level and above. */
const captureLogs = () => {
  const messages: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel === "Warn" || logLevel === "Error" || logLevel === "Fatal") {
      messages.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    }
  })
  return { messages, layer: Logger.layer([logger]) }
}

describe("FileStore: SIGKILL of a writing child process", () => {
  it.live(
    "crash: SIGKILL at random moments, 20 times; every reopen succeeds with every acknowledged write",
    () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const child = fileURLToPath(new URL("./fixtures/fileStoreCrashChild.ts", import.meta.url))
        const acked = new Map<string, "1" | "2" | "D">()
        let totalAcked = 0
        let lockedChecks = 0
        for (let run = 1; run <= 20; run++) {
          const early = run % 5 === 0
          const lines = yield* Effect.promise(() =>
            new Promise<Array<string>>((resolve, reject) => {
              const proc = ChildProcess.spawn(process.execPath, ["--import", "tsx", child, path, String(run)], {
                cwd: packageDir,
                stdio: ["ignore", "pipe", "pipe"]
              })
              let out = ""
              let err = ""
              let killTimer: NodeJS.Timeout | undefined
              const killAfter = (ms: number) => {
                killTimer = setTimeout(() => proc.kill("SIGKILL"), ms)
              }
              if (early) killAfter(Math.floor(Math.random() * 700))
              let ready = false
              proc.stdout.on("data", (chunk: Buffer) => {
                out += chunk.toString("utf8")
                if (!early && !ready && /^ready$/m.test(out)) {
                  ready = true
                  // the child holds the lock from before "ready": a second owner is refused while it lives
                  Effect.runPromise(
                    Effect.flip(Effect.scoped(FileStore.make({ path }))).pipe(
                      Effect.provide(NodeFileSystem.layer)
                    )
                  ).then(
                    (error) => {
                      if (error.reason === "Locked") lockedChecks++
                      killAfter(50 + Math.floor(Math.random() * 400))
                    },
                    (error) => {
                      proc.kill("SIGKILL")
                      reject(error)
                    }
                  )
                }
              })
              proc.stderr.on("data", (chunk: Buffer) => {
                err += chunk.toString("utf8")
              })
              proc.on("error", reject)
              proc.on("close", (code, signal) => {
                clearTimeout(killTimer)
                if (signal !== "SIGKILL") reject(new Error(`child exited with ${code}: ${err}`))
                else resolve(out.split("\n").slice(0, -1)) // the last piece may be an incomplete line
              })
            })
          )
          for (const line of lines) {
            const [kind, token, version] = line.split(" ")
            if (kind === "S") acked.set(token!, version as "1" | "2")
            else if (kind === "D") acked.set(token!, "D")
            if (kind === "S" || kind === "D") totalAcked++
          }
          const logs = captureLogs()
          yield* withStore({ path }, (store) =>
            Effect.gen(function*() {
              for (const [token, state] of acked) {
                const found = yield* findBytes(store, token)
                const deletable = Number(token.split("-").at(-1)) % 3 === 0
                if (state === "D") {
                  assert.isUndefined(found, `${token} was deleted`)
                } else if (state === "1") {
                  // the next write (version 2) may have reached the log unacknowledged
                  assert.isTrue(
                    sameBytes(found, valueOf(token, 1)) || sameBytes(found, valueOf(token, 2)),
                    `${token} version 1 was acknowledged`
                  )
                } else {
                  assert.isTrue(
                    sameBytes(found, valueOf(token, 2)) || (deletable && found === undefined),
                    `${token} version 2 was acknowledged`
                  )
                }
              }
            })).pipe(Effect.provide(logs.layer))
          // the only complaints on reopening: the dead child's lock, and a torn tail if the kill tore a write
          for (const message of logs.messages) assert.match(message, /stale lock|dropped \d+ bytes/)
        }
        assert.isAbove(totalAcked, 1000, "the children acknowledged writes before being killed")
        assert.isAbove(lockedChecks, 10, "a live child's lock refused a second owner")
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)),
    { timeout: 300_000 } // 20 child processes, each starting tsx: slow on a loaded machine, not a timing check
  )
})

const soak = process.env.SOAK === "1"
const ROUNDS = soak ? 10 : 3
const CLIENTS = 20

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-session-crash-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("FileStore: SIGKILL under HTTP load, then restart (the example server)", () => {
  for (const sync of ["always", "everysec"] as const) {
    it.live(`sync "${sync}": ${ROUNDS} kills, every acknowledged session survives`, () =>
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
