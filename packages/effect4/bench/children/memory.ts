/**
 * Child process on Node 22 (run with `--expose-gc`): the resident memory that `sessions` live sessions take in the
 * Effect 4 line's MemStore, measured as `bench/children/memory.ts` measures Effect 3's and memorystore's (same
 * sessions, same tokens, same codec).
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { childMain } from "../../../../bench/lib/child.js"
import { measureMemory, type MemoryInput, type MemoryOutput } from "../../../../bench/lib/memory.js"
import { DAY_MS, makeToken, prng, sessionRecord } from "../../../../bench/lib/workload.js"
import * as Codec from "../../src/core/codec.js"
import * as MemStore from "../../src/MemStore.js"

childMain<MemoryInput, MemoryOutput>(async ({ sessions }) => {
  const expiresAt = Date.now() + DAY_MS
  const scope = Effect.runSync(Scope.make())
  const store = await Effect.runPromise(MemStore.make().pipe(Scope.provide(scope)))
  const expiry = DateTime.makeUnsafe(expiresAt)
  const random = prng(7)
  return measureMemory("MemStore (Effect 4)", sessions, {
    fill: (count) =>
      Effect.runPromise(Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          yield* store.save(makeToken(random), Codec.encode(sessionRecord(i, expiresAt)), expiry)
        }
      })),
    size: () => Effect.runPromise(store.size),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  })
})
