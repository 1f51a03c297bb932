/**
 * The store-level subjects: ours (an Effect store plus the session codec) and the Node peers (express-session
 * stores, which serialize with their own JSON), each preloaded with the workload's sessions.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import session from "express-session"
import type { Store as ExpressStore } from "express-session"
import createMemoryStore from "memorystore"
import * as Path from "node:path"
import * as Codec from "../../src/core/codec.js"
import * as FileStore from "../../src/FileStore.js"
import type * as Store from "../../src/Store.js"
import { type CallbackOp, runCallback, runSync } from "../lib/drivers.js"
import { runEffect } from "../lib/runEffect.js"
import { inTempDir, missError, PRELOAD_CONCURRENCY, type Subject } from "./subject.js"

export type { Instance, Subject } from "./subject.js"

// ---- ours ----

/**
 * Ours (Effect 3): a `SessionStore` made in its own scope, driven by the Effect loop. A read is `find` plus the
 * codec's `decode`; a write is the codec's `encode` plus `save`. (The Effect 4 line's twin is in
 * `packages/effect4/bench/store/subjects.ts`.)
 */
export const effectSubject = (
  name: string,
  make: Effect.Effect<Store.SessionStoreService, unknown, Scope.Scope | FileSystem.FileSystem>
): Subject => ({
  name,
  open: async (w) => {
    const scope = Effect.runSync(Scope.make())
    const provide = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem>) =>
      Effect.provide(effect, NodeFileSystem.layer)
    const store = await Effect.runPromise(provide(Scope.extend(make, scope)))
    const expiry = DateTime.unsafeMake(w.expiresAt)
    const save = (i: number) => store.save(w.tokens[i]!, Codec.encode(w.records[i]!), expiry)
    await Effect.runPromise(
      Effect.forEach(w.tokens, (_, i) => save(i), { concurrency: PRELOAD_CONCURRENCY, discard: true })
    )
    let misses = 0
    const op = (k: number): Effect.Effect<unknown, Store.SessionStoreError> => {
      const i = w.target[k]!
      if (w.write[k] === 1) return save(i)
      return Effect.map(store.find(w.tokens[i]!), (found) => {
        if (Option.isNone(found) || Codec.decode(found.value)._tag !== "Ok") misses++
      })
    }
    return {
      run: async (concurrency, limit) => {
        const result = await Effect.runPromise(runEffect(op, concurrency, limit))
        if (misses > 0) throw missError(name, misses)
        return result
      },
      close: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
})

// ---- the peers: express-session stores ----

/** A `get` / `set` store of express-session, driven by the callback loop. */
export const expressStoreSubject = (
  name: string,
  make: () => Promise<{ readonly store: ExpressStore; readonly close: () => Promise<void> }>
): Subject => ({
  name,
  open: async (w) => {
    const { close, store } = await make()
    const set = (i: number, done: (error?: unknown) => void) =>
      store.set(w.tokens[i]!, w.expressSessions[i]! as any, (error?: unknown) => done(error))
    await runCallback((k, done) => set(k, done), PRELOAD_CONCURRENCY, { ops: w.sessions, ms: Infinity })
    let misses = 0
    const op: CallbackOp = (k, done) => {
      const i = w.target[k]!
      if (w.write[k] === 1) return set(i, done)
      store.get(w.tokens[i]!, (error: unknown, found?: unknown) => {
        if (found === undefined || found === null) misses++
        done(error)
      })
    }
    return {
      run: async (concurrency, limit) => {
        const result = await runCallback(op, concurrency, limit)
        if (misses > 0) throw missError(name, misses)
        return result
      },
      close
    }
  }
})

const MemoryStore = createMemoryStore(session)

/** `memorystore`, as its README configures it (expired entries pruned once a day). */
export const memorystore = expressStoreSubject("memorystore", async () => {
  const store = new MemoryStore({ checkPeriod: 24 * 60 * 60 * 1000 })
  return { store, close: async () => store.stopInterval() }
})

/** express-session's own `MemoryStore` (documented as not meant for production). */
export const expressMemoryStore = expressStoreSubject("express-session MemoryStore", async () => ({
  store: new session.MemoryStore(),
  close: async () => {}
}))

// ---- ceilings ----

/** The in-memory ceiling: a `Map` of JSON strings, `JSON.stringify` / `JSON.parse` of the values, no store API. */
export const mapJsonCeiling: Subject = {
  name: "Map + JSON (ceiling)",
  open: async (w) => {
    const map = new Map<string, string>()
    for (let i = 0; i < w.sessions; i++) map.set(w.tokens[i]!, JSON.stringify(w.values[i]))
    let misses = 0
    const op = (k: number) => {
      const i = w.target[k]!
      if (w.write[k] === 1) {
        map.set(w.tokens[i]!, JSON.stringify(w.values[i]))
      } else {
        const found = map.get(w.tokens[i]!)
        if (found === undefined || JSON.parse(found) === null) misses++
      }
    }
    return {
      run: async (_concurrency, limit) => {
        const result = runSync(op, limit)
        if (misses > 0) throw missError("Map + JSON", misses)
        return result
      },
      close: async () => map.clear()
    }
  }
}

// ---- Redis ----

/** connect-redis 9 over the `redis` client it requires (node-redis 5+), as its README sets it up. */
export const connectRedis = (url: string): Subject =>
  expressStoreSubject("connect-redis (+redis client)", async () => {
    const { createClient } = await import("redis")
    const { RedisStore } = await import("connect-redis")
    const client = createClient({ url })
    client.on("error", () => {})
    await client.connect()
    const store = new RedisStore({ client, prefix: "bench:connect-redis:" })
    return { store, close: async () => void (await client.quit()) }
  })

/**
 * The Redis ceiling: ioredis `GET` and `SET ... PX` of the values' JSON, on a client with the same settings as
 * RedisStore's own (auto-pipelining on), so the ratio is RedisStore's own cost.
 */
export const rawIoredis = (url: string): Subject => ({
  name: "raw ioredis GET/SET PX (ceiling)",
  open: async (w) => {
    const { Redis } = await import("ioredis")
    const client = new Redis(url, { enableAutoPipelining: true })
    const prefix = "bench:ioredis:"
    const set = (i: number) =>
      client.set(prefix + w.tokens[i]!, JSON.stringify(w.values[i]), "PX", w.expiresAt - Date.now())
    await runCallback((k, done) => void set(k).then(() => done(), done), PRELOAD_CONCURRENCY, {
      ops: w.sessions,
      ms: Infinity
    })
    let misses = 0
    const op: CallbackOp = (k, done) => {
      const i = w.target[k]!
      if (w.write[k] === 1) {
        set(i).then(() => done(), done)
      } else {
        client.get(prefix + w.tokens[i]!).then((found) => {
          if (found === null || JSON.parse(found) === null) misses++
          done()
        }, done)
      }
    }
    return {
      run: async (concurrency, limit) => {
        const result = await runCallback(op, concurrency, limit)
        if (misses > 0) throw missError("raw ioredis", misses)
        return result
      },
      close: async () => void (await client.quit())
    }
  }
})

// ---- files ----

/** FileStore with a sync mode, in a temporary folder (compaction and cleanup at their defaults). */
export const fileStore = (name: string, sync: FileStore.SyncMode): Subject =>
  inTempDir(name, (dir) => effectSubject(name, FileStore.make({ path: Path.join(dir, "sessions.log"), sync })))

/** session-file-store: one JSON file per session, written atomically (write-file-atomic: temp file, fsync, rename). */
export const sessionFileStore: Subject = inTempDir(
  "session-file-store",
  (dir) =>
    expressStoreSubject("session-file-store", async () => {
      const { default: createFileStore } = await import("session-file-store")
      const FileStoreClass = createFileStore(session)
      const store = new FileStoreClass({ path: dir, logFn: () => {}, reapInterval: -1 })
      return { store, close: async () => {} }
    })
)
