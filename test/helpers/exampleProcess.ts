/**
 * Examples started as the README starts them: a separate Node process (`node --import tsx file`) on a free port.
 * No Effect import: both lines' `helpers/example.ts` wrap these in their Effect.
 */
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

export interface RunningExample {
  readonly child: ChildProcess
  readonly base: string
  readonly output: () => string
}

/**
 * Starts `file` with this process's Node on a free port (`PORT`) and resolves once `probe` answers; rejects with the
 * process's output when it exits first or does not answer within 30 s. `cwd` defaults to this process's.
 */
export const launchExample = async (
  file: string,
  env: Record<string, string>,
  probe: string,
  cwd?: string
): Promise<RunningExample> => {
  const port = await freePort()
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd })
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
      if (Date.now() > deadline) {
        child.kill("SIGKILL")
        throw new Error(`${file} did not start:\n${output}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** Sends SIGTERM and resolves when the process has exited (at once if it already has). */
export const stopProcess = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    // a process killed by a signal has a signalCode and no exitCode
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })
