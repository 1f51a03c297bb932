/**
 * Child process on Node 22, section 4 (FileStore's log) for the Effect 4 line: `open` and `compact` of
 * `bench/children/file-open.ts`, with this line's FileStore, on the logs that `prepare` wrote there (the log format
 * is the core's, the same for both lines).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { childMain } from "../../../../bench/lib/child.js"
import type { CompactOutput, FileInput, OpenOutput } from "../../../../bench/lib/fileLogs.js"
import * as FileStore from "../../src/FileStore.js"

const withStore = <A>(path: string, use: (store: FileStore.FileStore, openMs: number) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const t0 = performance.now()
      const store = yield* FileStore.make({ path, sync: "everysec" }).pipe(Scope.provide(scope))
      const openMs = performance.now() - t0
      const result = yield* use(store, openMs)
      yield* Scope.close(scope, Exit.void)
      return result
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

childMain<FileInput, OpenOutput | CompactOutput>(async (input) => {
  switch (input.step) {
    case "prepare":
      throw new Error("prepare runs in bench/children/file-open.ts")
    case "open":
      return withStore(input.path, (store, openMs) =>
        Effect.gen(function*() {
          return {
            openMs,
            sessions: yield* store.size,
            logBytes: yield* store.logSize,
            rssAfter: process.memoryUsage().rss
          }
        }))
    case "compact":
      return withStore(input.path, (store) =>
        Effect.gen(function*() {
          const logBefore = yield* store.logSize
          const t0 = performance.now()
          yield* store.compact
          const compactMs = performance.now() - t0
          let liveData = 0
          let sessions = 0
          yield* Stream.runForEach(store.all, ([token, data]) =>
            Effect.sync(() => {
              liveData += Buffer.byteLength(token) + data.length
              sessions++
            }))
          return { sessions, logBefore, logAfter: yield* store.logSize, liveData, compactMs }
        }))
  }
})
