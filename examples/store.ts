/**
 * The engine the examples run on, chosen by `SESSION_STORE`:
 *
 * - `file` (the default): FileStore at `SESSION_FILE` (default `.sessions/sessions.log`), fsync policy `SESSION_SYNC`
 *   (`always`, `everysec` (default) or `never`); sessions survive restarts.
 * - `memory`: MemStore; sessions are lost when the process stops.
 * - `redis`: RedisStore at `REDIS_URL` (default `redis://127.0.0.1:6379`), keys under `SESSION_PREFIX`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as FileStore from "../src/FileStore.js"
import * as MemStore from "../src/MemStore.js"
import * as RedisStore from "../src/RedisStore.js"
import type * as Store from "../src/Store.js"

const fileStore = (path: string, sync: "always" | "everysec" | "never") =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = (yield* Path.Path).dirname(path)
    yield* fs.makeDirectory(dir, { recursive: true })
    return FileStore.layer({ path, sync })
  })).pipe(Layer.provide(NodeContext.layer))

type StoreLayer = Layer.Layer<Store.SessionStore, unknown>

export const StoreFromEnv: StoreLayer = Layer.unwrapEffect(
  Effect.gen(function*(): Effect.fn.Return<StoreLayer, unknown> {
    const kind = yield* Config.literal("file", "memory", "redis")("SESSION_STORE").pipe(Config.withDefault("file"))
    switch (kind) {
      case "memory": {
        yield* Effect.logInfo("session store: memory")
        return MemStore.layer()
      }
      case "redis": {
        yield* Effect.logInfo("session store: redis")
        return RedisStore.layerConfig({
          url: Config.redacted("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379")),
          prefix: Config.string("SESSION_PREFIX").pipe(Config.withDefault("session:"))
        })
      }
      case "file": {
        const path = yield* Config.string("SESSION_FILE").pipe(Config.withDefault(".sessions/sessions.log"))
        const sync = yield* Config.literal("always", "everysec", "never")("SESSION_SYNC").pipe(
          Config.withDefault("everysec")
        )
        yield* Effect.logInfo(`session store: file (${path}, sync ${sync})`)
        return fileStore(path, sync)
      }
    }
  })
)
