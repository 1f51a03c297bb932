/**
 * Child process (run with `--expose-gc`): the resident memory that `sessions` live sessions take in one store
 * (Effect 3's MemStore or memorystore; `packages/effect4/bench/children/memory.ts` is Effect 4's MemStore),
 * measured in a fresh process: RSS after full GCs once the store is filled, minus RSS after full GCs before,
 * divided by the number of sessions. Each side stores the same session values, serialized its own way (ours:
 * the session codec; memorystore: its JSON of express-session's session object), under tokens of the same length.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import session from "express-session"
import createMemoryStore from "memorystore"
import * as Codec from "../../src/core/codec.js"
import * as MemStore from "../../src/MemStore.js"
import { childMain } from "../lib/child.js"
import { type Filled, measureMemory, type MemoryInput, type MemoryOutput } from "../lib/memory.js"
import { DAY_MS, expressSession, makeToken, prng, sessionRecord, sessionValues } from "../lib/workload.js"

const memStore = async (expiresAt: number): Promise<Filled> => {
  const scope = Effect.runSync(Scope.make())
  const store = await Effect.runPromise(Scope.extend(MemStore.make(), scope))
  const expiry = DateTime.unsafeMake(expiresAt)
  const random = prng(7)
  return {
    fill: (sessions) =>
      Effect.runPromise(Effect.gen(function*() {
        for (let i = 0; i < sessions; i++) {
          yield* store.save(makeToken(random), Codec.encode(sessionRecord(i, expiresAt)), expiry)
        }
      })),
    size: () => Effect.runPromise(store.size),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const memorystore = async (expiresAt: number): Promise<Filled> => {
  const MemoryStore = createMemoryStore(session)
  const store = new MemoryStore({ checkPeriod: DAY_MS })
  const random = prng(7)
  const set = (i: number) =>
    new Promise<void>((resolve, reject) =>
      store.set(
        makeToken(random),
        expressSession(sessionValues(i), expiresAt) as any,
        (error?: unknown) => error ? reject(error) : resolve()
      )
    )
  return {
    fill: async (sessions) => {
      // in batches: the callbacks are deferred with setImmediate
      for (let i = 0; i < sessions; i += 1000) {
        const batch: Array<Promise<void>> = []
        for (let j = i; j < Math.min(sessions, i + 1000); j++) batch.push(set(j))
        await Promise.all(batch)
      }
    },
    size: () =>
      new Promise((resolve, reject) =>
        store.length((error: unknown, length?: number) => error ? reject(error) : resolve(length ?? 0))
      ),
    close: async () => store.stopInterval()
  }
}

export type { MemoryInput, MemoryOutput } from "../lib/memory.js"

childMain<MemoryInput, MemoryOutput>(async ({ sessions, subject }) => {
  const expiresAt = Date.now() + DAY_MS
  const store = subject === "MemStore" ? await memStore(expiresAt) : await memorystore(expiresAt)
  return measureMemory(subject, sessions, store)
})
