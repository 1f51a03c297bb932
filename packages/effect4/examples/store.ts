/**
 * The engine the examples run on, chosen by `SESSION_STORE`:
 *
 * - `file` (the default): FileStore at `SESSION_FILE` (default `.sessions/sessions.log`), fsync policy `SESSION_SYNC`
 *   (`always`, `everysec` (default) or `never`); sessions survive restarts.
 * - `memory`: MemStore; sessions are lost when the process stops.
 * - `redis`: RedisStore at `REDIS_URL` (default `redis://127.0.0.1:6379`), keys under `SESSION_PREFIX`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Path from "effect/Path"
import * as FileStore from "../src/FileStore.js"
import * as MemStore from "../src/MemStore.js"
import * as RedisStore from "../src/RedisStore.js"
import type * as Store from "../src/Store.js"

const fileStore = (path: string, sync: "always" | "everysec" | "never") =>
  Layer.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = (yield* Path.Path).dirname(path)
    yield* fs.makeDirectory(dir, { recursive: true })
    return FileStore.layer({ path, sync })
  })).pipe(Layer.provide(NodeServices.layer))

type StoreLayer = Layer.Layer<Store.SessionStore, unknown>

export const StoreFromEnv: StoreLayer = Layer.unwrap(
  Effect.gen(function*(): Effect.fn.Return<StoreLayer, unknown> {
    const kind = yield* Config.Literals(["file", "memory", "redis"], "SESSION_STORE").pipe(Config.withDefault("file"))
    switch (kind) {
      case "memory": {
        yield* Effect.logInfo("session store: memory")
        return MemStore.layer()
      }
      case "redis": {
        yield* Effect.logInfo("session store: redis")
        return RedisStore.layerConfig({
          url: Config.Redacted("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379")),
          prefix: Config.String("SESSION_PREFIX").pipe(Config.withDefault("session:"))
        })
      }
      case "file": {
        const path = yield* Config.String("SESSION_FILE").pipe(Config.withDefault(".sessions/sessions.log"))
        const sync = yield* Config.Literals(["always", "everysec", "never"], "SESSION_SYNC").pipe(
          Config.withDefault("everysec")
        )
        yield* Effect.logInfo(`session store: file (${path}, sync ${sync})`)
        return fileStore(path, sync)
      }
    }
  })
)
