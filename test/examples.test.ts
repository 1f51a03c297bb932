/**
 * The examples, started as the README starts them (a separate Node process) and driven over HTTP.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { CookieJar } from "./helpers/http.js"

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Starts an example on a free port and waits until it answers; the process is killed when the scope closes. */
const startExample = (file: string, env: Record<string, string>, probe: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const port = await freePort()
      const child = spawn(process.execPath, ["--import", "tsx", file], {
        env: { ...process.env, ...env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk) => (output += chunk))
      child.stderr!.on("data", (chunk) => (output += chunk))
      const base = `http://127.0.0.1:${port}`
      const deadline = Date.now() + 30_000
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${file} exited early:\n${output}`)
        try {
          await fetch(base + probe)
          return { child, base, output: () => output }
        } catch {
          if (Date.now() > deadline) throw new Error(`${file} did not start:\n${output}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }),
    ({ child }) => stop(child)
  )

const stop = (child: ChildProcess) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
  )

describe("examples", () => {
  it.scopedLive("basic.ts on MemStore: /put then /get over HTTP", () =>
    Effect.gen(function*() {
      const { base } = yield* startExample("examples/basic.ts", { SESSION_STORE: "memory" }, "/health")
      const jar = new CookieJar(base)
      const put = yield* jar.request("/put")
      assert.strictEqual(put.status, 200)
      assert.strictEqual(put.setCookies.length, 1)
      assert.strictEqual((yield* jar.request("/get")).body, "Hello world!\n")
      assert.strictEqual((yield* new CookieJar(base).request("/get")).body, "\n")
    }), { timeout: 60_000 })

  it.scopedLive("login.ts: log in, whoami, log out", () =>
    Effect.gen(function*() {
      const { base } = yield* startExample("examples/login.ts", { SESSION_STORE: "memory" }, "/whoami")
      const jar = new CookieJar(base)
      assert.strictEqual((yield* jar.request("/whoami")).status, 401)
      const login = yield* jar.request("/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "alice", password: "wonderland" })
      })
      assert.strictEqual(login.status, 200)
      assert.strictEqual(JSON.parse((yield* jar.request("/whoami")).body).user, "alice")
      assert.strictEqual((yield* jar.request("/logout", { method: "POST" })).status, 204)
      assert.strictEqual((yield* jar.request("/whoami")).status, 401)
    }), { timeout: 60_000 })
})
