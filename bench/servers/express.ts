/**
 * The express server of the HTTP benchmark, in its own process: express 5 + express-session with the store named
 * by `BENCH_STORE` (`memorystore`, `redis` for connect-redis at `REDIS_URL`, `file` for session-file-store in
 * `SESSION_DIR`), configured as their READMEs show. Listens on 127.0.0.1:`PORT`.
 *
 * `/put` also counts the puts in the session: express-session skips saving a session whose content did not change
 * (setting the same message again), while ours saves on every `set`; the counter makes every `/put` a real write
 * on both sides. `/get` runs express-session's defaults: a request with a live session `touch`es its store entry.
 */
import express from "express"
import session from "express-session"
import createMemoryStore from "memorystore"

declare module "express-session" {
  interface SessionData {
    message: string
    puts: number
  }
}

const DAY_MS = 24 * 60 * 60 * 1000

const makeStore = async (): Promise<session.Store> => {
  switch (process.env.BENCH_STORE) {
    case "memorystore": {
      const MemoryStore = createMemoryStore(session)
      return new MemoryStore({ checkPeriod: DAY_MS })
    }
    case "redis": {
      const { createClient } = await import("redis")
      const { RedisStore } = await import("connect-redis")
      const client = createClient({ url: process.env.REDIS_URL! })
      client.on("error", (error) => console.error("redis client", error))
      await client.connect()
      return new RedisStore({ client, prefix: "bench-http-express:" })
    }
    case "file": {
      const { default: createFileStore } = await import("session-file-store")
      const FileStore = createFileStore(session)
      return new FileStore({ path: process.env.SESSION_DIR!, logFn: () => {}, reapInterval: -1 })
    }
    default:
      throw new Error(`unknown BENCH_STORE ${process.env.BENCH_STORE}`)
  }
}

const app = express()
app.use(session({
  secret: "bench secret",
  resave: false,
  saveUninitialized: false,
  store: await makeStore(),
  cookie: { maxAge: DAY_MS }
}))
app.get("/put", (req, res) => {
  req.session.message = "Hello world!"
  req.session.puts = (req.session.puts ?? 0) + 1
  res.type("text").send("OK\n")
})
app.get("/get", (req, res) => {
  res.type("text").send(`${req.session.message ?? ""}\n`)
})
app.get("/health", (_req, res) => {
  res.type("text").send("ok\n")
})
app.listen(Number(process.env.PORT), "127.0.0.1")
