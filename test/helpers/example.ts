/**
 * Examples started as the README starts them: a separate Node process on a free port.
 */
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Starts an example on a free port and waits until it answers; the process is killed when the scope closes. */
export const startExample = (file: string, env: Record<string, string>, probe: string) =>
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
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${file} exited early:\n${output}`)
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

export const stop = (child: ChildProcess) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      // a process killed by a signal has a signalCode and no exitCode
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
  )
