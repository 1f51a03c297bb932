/**
 * Real Redis servers for the tests: each suite starts its own `redis-server` processes on free loopback ports, in
 * temporary folders, with persistence off, and stops them afterwards. Nothing here ever talks to a Redis the tests
 * did not start, except the one named by `REDIS_URL` when that is set (and then only under a unique prefix).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import * as Path from "node:path"

const findOnPath = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(Path.delimiter)) {
    if (dir === "") continue
    const candidate = Path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** Where the tests find Redis, decided once when the test file is collected. */
export interface RedisAvailability {
  /** `redis-server` and `redis-cli`, when both are on the PATH: the tests can start (and stop) their own servers. */
  readonly binaries: { readonly server: string; readonly cli: string } | undefined
  /** `REDIS_URL`, when set: the standalone suites use it instead of starting a server. */
  readonly url: string | undefined
  /** `REQUIRE_REDIS=1`: a suite that cannot run is a failure, not a skip. */
  readonly required: boolean
}

export const availability: RedisAvailability = (() => {
  const server = findOnPath("redis-server")
  const cli = findOnPath("redis-cli")
  const url = process.env.REDIS_URL
  return {
    binaries: server !== undefined && cli !== undefined ? { server, cli } : undefined,
    url: url === undefined || url === "" ? undefined : url,
    required: process.env.REQUIRE_REDIS === "1"
  }
})()

/**
 * Why a suite that needs `needs` cannot run here, or `undefined` when it can. `"server"`: any Redis (a started one
 * or `REDIS_URL`); `"binaries"`: the suite must start, stop or cluster its own servers.
 */
export const unavailableReason = (needs: "server" | "binaries"): string | undefined => {
  if (availability.binaries !== undefined) return undefined
  if (needs === "server" && availability.url !== undefined) return undefined
  return needs === "server"
    ? "neither redis-server/redis-cli are on the PATH nor REDIS_URL is set"
    : "redis-server/redis-cli are not on the PATH (this suite starts, stops or clusters its own servers)"
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = Net.createServer()
    server.unref()
    server.once("error", () => resolve(false))
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)))
  })

const usedPorts = new Set<number>()

/**
 * A free loopback port. With `busOffset`, `port + busOffset` is free too (Redis Cluster listens on `port + 10000`
 * for its bus).
 *
 * Chosen in 10000-21999 (bus ports 20000-31999), below Linux's ephemeral range (32768-60999): a client that keeps
 * reconnecting to a stopped server's port in that range can be handed that very port as its own source port and
 * connect to itself (TCP simultaneous open), and a test that expects "connection refused" then sees its own
 * commands echoed back as replies. Processes of the test run share the range, so a port is also re-checked free.
 */
export const freePort = async (busOffset?: number): Promise<number> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 12_000)
    if (usedPorts.has(port)) continue
    if (!(await canListen(port))) continue
    if (busOffset !== undefined && !(await canListen(port + busOffset))) continue
    usedPorts.add(port)
    return port
  }
  throw new Error("no free loopback port found")
}

/** Sends one inline command over a fresh socket and resolves with the raw reply (or rejects). */
export const rawCommand = (port: number, command: string, timeoutMs = 1000): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect({ port, host: "127.0.0.1" })
    let reply = ""
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no reply to ${command} on port ${port} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.setEncoding("utf8")
    socket.once("connect", () => socket.write(`${command}\r\n`))
    socket.on("data", (chunk: string) => {
      reply += chunk
      // a status/error line, or a bulk string that has fully arrived
      const bulk = /^\$(\d+)\r\n/.exec(reply)
      if (bulk !== null ? reply.length >= bulk[0].length + Number(bulk[1]) + 2 : reply.endsWith("\r\n")) {
        clearTimeout(timer)
        socket.destroy()
        resolve(reply)
      }
    })
    socket.once("error", (error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      lastError = error
    }
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}${lastError === undefined ? "" : `: ${String(lastError)}`}`)
}

// a safety net: if the test process exits without stopping its servers (a crash, a timeout), kill them with it
const liveChildren = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL")
})

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

/** A `redis-server` process this test run started, on a fixed port it keeps across `stop` / `start`. */
export class RedisServer {
  private child: ChildProcess | undefined
  private output = ""

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly binary: string,
    private readonly extraArgs: ReadonlyArray<string>
  ) {}

  /** Starts a server on a free port (with `extraArgs` appended to the command line) and waits for PING. */
  static async start(extraArgs: ReadonlyArray<string> = [], busOffset?: number): Promise<RedisServer> {
    const binaries = availability.binaries
    if (binaries === undefined) throw new Error(unavailableReason("binaries"))
    const port = await freePort(busOffset)
    const dir = mkdtempSync(Path.join(tmpdir(), `effect-session-redis-${port}-`))
    const server = new RedisServer(port, dir, binaries.server, extraArgs)
    await server.start()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined
  }

  /** (Re)starts the process on the same port and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.child !== undefined) return
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      ...this.extraArgs
    ]
    const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] })
    this.child = child
    liveChildren.add(child)
    this.output = ""
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk))
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk))
    child.once("exit", () => {
      liveChildren.delete(child)
      if (this.child === child) this.child = undefined
    })
    try {
      await waitUntil(`redis-server on port ${this.port}`, async () => {
        if (this.child !== child) throw new Error(`redis-server exited: ${this.output}`)
        return (await rawCommand(this.port, "PING", 500)).startsWith("+PONG")
      }, 10_000)
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  /** Kills the process (SIGKILL: an outage, nothing saved) and waits until it has exited and the port is free. */
  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined) return
    this.child = undefined
    child.kill("SIGKILL")
    await exited(child)
  }

  /** Freezes the process (SIGSTOP): it keeps its sockets open but answers nothing until `resume`. */
  pause(): void {
    this.child?.kill("SIGSTOP")
  }

  resume(): void {
    this.child?.kill("SIGCONT")
  }

  /** Stops the server and removes its folder. */
  async dispose(): Promise<void> {
    this.resume()
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A 3-master Redis Cluster (no replicas) started by this test run. */
export class RedisCluster {
  private constructor(readonly nodes: ReadonlyArray<RedisServer>) {}

  get ports(): ReadonlyArray<number> {
    return this.nodes.map((node) => node.port)
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const binaries = availability.binaries
    if (binaries === undefined) throw new Error(unavailableReason("binaries"))
    const nodes: Array<RedisServer> = []
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(
          await RedisServer.start(
            [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              "2000"
            ],
            10_000
          )
        )
      }
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
      await new Promise<void>((resolve, reject) =>
        execFile(
          binaries.cli,
          ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
          { timeout: 30_000 },
          (error, stdout, stderr) =>
            error === null ? resolve() : reject(new Error(`redis-cli --cluster create failed: ${stdout}${stderr}`))
        )
      )
      for (const node of nodes) {
        await waitUntil(
          `cluster_state:ok on port ${node.port}`,
          async () => (await rawCommand(node.port, "CLUSTER INFO")).includes("cluster_state:ok"),
          20_000
        )
      }
      return new RedisCluster(nodes)
    } catch (error) {
      await Promise.all(nodes.map((node) => node.dispose()))
      throw error
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()))
  }
}
