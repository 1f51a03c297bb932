/**
 * Opening the log: create it, or check its header and replay its records into the index, cutting off a torn or
 * corrupt tail (the replay itself is `core/fileReplay.ts`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as PlatformError from "effect/PlatformError"
import type { FileIndex } from "../core/fileIndex.js"
import * as Log from "../core/fileLog.js"
import type { LogPaths } from "../core/filePaths.js"
import { LogReplay, refusal, tornTailWarning } from "../core/fileReplay.js"
import type * as Store from "../Store.js"
import { corrupt, orIo } from "./errors.js"
import { createPrivate, type LogFile, openHandle } from "./logFile.js"

/** Reads until `into` is full or the file ends; returns the bytes read. @internal */
export const readFully = (file: FileSystem.File, into: Buffer): Effect.Effect<number, PlatformError.PlatformError> =>
  Effect.gen(function*() {
    let filled = 0
    while (filled < into.length) {
      const n = yield* file.read(into.subarray(filled))
      if (n === 0) break
      filled += n
    }
    return filled
  })

/** Writes a fresh header over `file`; returns the end of the empty log. */
const initialize = (file: FileSystem.File) =>
  Effect.gen(function*() {
    yield* file.truncate(0)
    yield* file.seek(0n, "start")
    yield* file.writeAll(Log.encodeHeader())
    yield* file.sync
    return Log.HEADER_SIZE
  })

/** Replays the records after the header into `index`; returns where the good records end and why there. */
const replay = (file: FileSystem.File, fileSize: number, index: FileIndex, now: number) =>
  Effect.gen(function*() {
    // the hot loop of opening: no Effect per record (the records of a read are scanned synchronously)
    const replay = new LogReplay(fileSize, index.replaySink(now))
    yield* file.seek(BigInt(Log.HEADER_SIZE), "start")
    for (;;) {
      const step = replay.next()
      if (step._tag === "End") return step
      replay.advance(yield* file.read(step.into))
    }
  })

/**
 * Opens the log at `path` into `log` and `index`. A compaction's temporary file left by a crash is removed (the
 * caller holds the lock: nothing else uses it).
 *
 * @internal
 */
export const open = (
  fs: FileSystem.FileSystem,
  paths: LogPaths,
  log: LogFile,
  index: FileIndex,
  method: string
): Effect.Effect<void, Store.SessionStoreError> =>
  Effect.gen(function*() {
    const path = paths.log
    yield* fs.remove(paths.compact, { force: true })
    if (!(yield* fs.exists(path))) {
      const handle = yield* createPrivate(fs, path)
      log.attach(handle)
      log.end = yield* initialize(handle.file)
      yield* log.syncFolder
      return
    }
    log.attach(yield* openHandle(fs, path, "r+"))
    const file = log.file
    const fileSize = Number((yield* file.stat).size)
    const head = Buffer.alloc(Log.HEADER_SIZE)
    yield* file.seek(0n, "start")
    const headLength = yield* readFully(file, head)
    const header = Log.checkHeader(head, Math.min(headLength, fileSize))
    const refused = refusal(header)
    if (refused !== undefined) return yield* Effect.fail(corrupt(method, `refusing to open ${path}: ${refused}`))
    if (header._tag === "Blank") {
      // empty, or the creation of the log was interrupted before its header was complete
      log.end = yield* initialize(file)
      return
    }
    const { good, why } = yield* replay(file, fileSize, index, yield* Clock.currentTimeMillis)
    log.end = good
    index.recount()
    if (good < fileSize) {
      yield* file.truncate(good)
      yield* file.sync
      yield* Effect.logWarning(tornTailWarning(fileSize, good, why)).pipe(
        Effect.annotateLogs({ path, droppedBytes: fileSize - good, offset: good })
      )
    }
  }).pipe(orIo(method, `cannot open ${paths.log}`))
