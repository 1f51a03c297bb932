/**
 * The engine the examples run on, chosen by `SESSION_STORE` (`memory`, `file` or `redis`).
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MemStore from "../src/MemStore.js"

export const StoreFromEnv = Layer.unwrapEffect(Effect.gen(function*() {
  const kind = yield* Config.literal("memory")("SESSION_STORE").pipe(Config.withDefault("memory" as const))
  yield* Effect.logInfo(`session store: ${kind}`)
  return MemStore.layer()
}))
