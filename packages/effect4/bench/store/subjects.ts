/**
 * The Effect 4 line's store-level subjects, run by the Node 22 host (`children/store-host.ts`): the twin of
 * `effectSubject` in `bench/store/subjects.ts`, over the workspace's `effect` 4 and this line's stores.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { missError, PRELOAD_CONCURRENCY, type Subject } from "../../../../bench/store/subject.js"
import * as Codec from "../../src/core/codec.js"
import type * as Store from "../../src/Store.js"
import { runEffect } from "../lib/runEffect.js"

/**
 * A `SessionStore` made in its own scope, driven by the Effect loop. A read is `find` plus the codec's `decode`;
 * a write is the codec's `encode` plus `save`.
 */
export const effectSubject = (
  name: string,
  make: Effect.Effect<Store.SessionStoreService, unknown, Scope.Scope | FileSystem.FileSystem>
): Subject => ({
  name,
  open: async (w) => {
    const scope = Effect.runSync(Scope.make())
    const store = await Effect.runPromise(make.pipe(Scope.provide(scope), Effect.provide(NodeFileSystem.layer)))
    const expiry = DateTime.makeUnsafe(w.expiresAt)
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
