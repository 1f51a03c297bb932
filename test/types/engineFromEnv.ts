/**
 * Typecheck test (issue 14 item 7): choosing the engine from an environment variable typechecks as written, with no
 * type annotation, and the chosen layer can be provided to `Session.layer`. Compiled by `tsc -p tsconfig.json`;
 * the README's Engines section shows the same code. `engineFromEnv.test.ts` next to it runs it.
 */
import { NodeContext } from "@effect/platform-node"
import { Layer } from "effect"
import * as FileStore from "../../src/FileStore.js"
import * as RedisStore from "../../src/RedisStore.js"
import * as Session from "../../src/Session.js"

// --- README snippet (Engines) ---
const StoreLive = process.env.SESSION_STORE === "redis"
  ? RedisStore.layerStore({ url: process.env.REDIS_URL })
  : FileStore.layerStore({ path: process.env.SESSION_FILE ?? "./sessions.log" })

const SessionLive = Session.layer({ idleTimeout: "30 minutes" }).pipe(
  Layer.provide(StoreLive),
  Layer.provide(NodeContext.layer)
)
// --- end of README snippet ---

export { SessionLive, StoreLive }
