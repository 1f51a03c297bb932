/**
 * Rewriting the log from memory: the live sessions are written to `${log}.rewrite` (mode 0600), fsynced, renamed over
 * the log, and the store appends to the new file from then on. After damage in the middle of the log, after the log
 * was truncated or replaced under the store, and to upgrade a format 1 log. The in-memory index holds every live
 * session, so nothing acknowledged is lost.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as PlatformError from "effect/PlatformError"
import { WRITE_CHUNK } from "../core/fileBatch.js"
import { snapshotChunks } from "../core/fileCompaction.js"
import type { FileIndex } from "../core/fileIndex.js"
import type { LogPaths } from "../core/filePaths.js"
import { closeHandle, createPrivate, type LogFile } from "./logFile.js"

/**
 * Rewrites `log` from `index`, with its secret. Run with the writer held off (at open, or under the writer's lock).
 * On failure the log is left as it was.
 *
 * @internal
 */
export const rewriteLog = (
  fs: FileSystem.FileSystem,
  paths: LogPaths,
  log: LogFile,
  index: FileIndex
): Effect.Effect<void, PlatformError.PlatformError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* fs.remove(paths.rewrite, { force: true })
    const target = yield* createPrivate(fs, paths.rewrite)
    let written = 0
    yield* Effect.gen(function*() {
      for (const chunk of snapshotChunks(Array.from(index.entries.values()), now, index, WRITE_CHUNK, log.secret)) {
        yield* target.file.writeAll(chunk)
        written += chunk.length
      }
      yield* target.file.sync
      yield* fs.rename(paths.rewrite, paths.log)
    }).pipe(
      Effect.onError(() =>
        Effect.andThen(closeHandle(target), Effect.ignore(fs.remove(paths.rewrite, { force: true })))
      )
    )
    yield* log.swap(target, written)
  })
