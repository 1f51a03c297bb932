/**
 * Child processes of section 4 (FileStore's log):
 *
 * - `prepare`: writes the log of `sessions` sessions (one put record each, as a compaction leaves it) with the
 *   log format's own encoder, and a second log with churn appended (half the sessions saved again, a quarter
 *   deleted).
 * - `open`: opens a FileStore on a log, in a fresh process, and reports how long `FileStore.make` took (the lock,
 *   the replay of every record into memory, the background fibers) and how many sessions it holds.
 * - `compact`: opens the log with churn, compacts it, and reports the log's size against the live data.
 *
 * `open` and `compact` open Effect 3's FileStore; `packages/effect4/bench/children/file-open.ts` does both with
 * Effect 4's, on the same logs.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as FileStore from "../../src/FileStore.js"
import { childMain } from "../lib/child.js"
import { type CompactOutput, type FileInput, type OpenOutput, prepare, type PrepareOutput } from "../lib/fileLogs.js"

export type { CompactOutput, FileInput, OpenOutput, PrepareOutput } from "../lib/fileLogs.js"

const withStore = <A>(path: string, use: (store: FileStore.FileStore, openMs: number) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const t0 = performance.now()
      const store = yield* Scope.extend(FileStore.make({ path, sync: "everysec" }), scope)
      const openMs = performance.now() - t0
      const result = yield* use(store, openMs)
      yield* Scope.close(scope, Exit.void)
      return result
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

childMain<FileInput, PrepareOutput | OpenOutput | CompactOutput>(async (input) => {
  switch (input.step) {
    case "prepare":
      return prepare(input.sessions, input.path, input.churnPath)
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
