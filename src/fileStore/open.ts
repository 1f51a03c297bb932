/**
 * Opening the log: create it, or check its header and replay its records into the index (the replay itself is
 * `core/fileReplay.ts`), then repair what needs it:
 *
 * - a torn tail (an incomplete last record, nothing valid after it: a crash in the middle of a write) is cut off,
 *   with a warning;
 * - damage followed by valid records is skipped: the damaged bytes are kept aside in `${log}.damaged-<time>` (mode
 *   0600) before anything is rewritten, the log is rewritten from memory, and an error is logged with the offsets
 *   (or, with `onCorruption: "refuse"`, opening fails with `Corrupt` and the file is left as it is);
 * - a format 1 log (0.1.0) is rewritten in format 2.
 *
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { FileIndex } from "../core/fileIndex.js"
import * as Log from "../core/fileLog.js"
import type { OnCorruption } from "../core/fileOptions.js"
import { asideStamp, type LogPaths } from "../core/filePaths.js"
import {
  asideHeader,
  countMarkers,
  type Damage,
  damageRefusal,
  damageReport,
  LogReplay,
  READ_CHUNK,
  refusal,
  tornTailWarning
} from "../core/fileReplay.js"
import type * as Store from "../Store.js"
import { corrupt, io, orIo } from "./errors.js"
import { closeHandle, createPrivate, type LogFile, openHandle } from "./logFile.js"
import { rewriteLog } from "./rewrite.js"

/** Reads until `into` is full or the file ends; returns the bytes read. @internal */
export const readFully = (file: FileSystem.File, into: Buffer): Effect.Effect<number, PlatformError.PlatformError> =>
  Effect.gen(function*() {
    let filled = 0
    while (filled < into.length) {
      const n = Number(yield* file.read(into.subarray(filled)))
      if (n === 0) break
      filled += n
    }
    return filled
  })

/**
 * Copies `source`'s bytes `[from, to)` to the end of `target`, showing each piece to `onChunk`. Fails with an `Io`
 * error of `method` if the source ends before `to`.
 *
 * @internal
 */
export const copyRange = (
  source: FileSystem.File,
  target: FileSystem.File,
  from: number,
  to: number,
  method: string,
  onChunk?: (chunk: Buffer) => void
): Effect.Effect<void, PlatformError.PlatformError | Store.SessionStoreError> =>
  Effect.gen(function*() {
    const buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(READ_CHUNK, to - from)))
    yield* source.seek(from, "start")
    let position = from
    while (position < to) {
      const n = yield* readFully(source, buffer.subarray(0, Math.min(buffer.length, to - position)))
      if (n === 0) return yield* Effect.fail(io(method, `the log ended at ${position}, before ${to}`))
      onChunk?.(buffer.subarray(0, n))
      yield* target.writeAll(buffer.subarray(0, n))
      position += n
    }
  })

/** Writes a fresh header over `file`; returns the end of the empty log. */
const initialize = (file: FileSystem.File, secret: Log.LogSecret) =>
  Effect.gen(function*() {
    yield* file.truncate(0)
    yield* file.seek(0, "start")
    yield* file.writeAll(Log.encodeHeader(secret))
    yield* file.sync
    return Log.HEADER_SIZE
  })

/** Replays the records after the header into `index`; returns where the good records end, why there, the damage. */
const replay = (file: FileSystem.File, fileSize: number, index: FileIndex, now: number, format: Log.Format) =>
  Effect.gen(function*() {
    // the hot loop of opening: no Effect per record (the records of a read are scanned synchronously)
    const replay = new LogReplay(fileSize, index.replaySink(now), format)
    yield* file.seek(format.headerSize, "start")
    for (;;) {
      const step = replay.next()
      if (step._tag === "End") return step
      replay.advance(Number(yield* file.read(step.into)))
    }
  })

/**
 * Copies the damaged regions of `log` into a new file `keptIn` (mode 0600), each after a line naming its offset and
 * length, and makes it durable. Returns the record starts counted in them (format 2).
 */
const keepAside = (
  fs: FileSystem.FileSystem,
  log: LogFile,
  damage: ReadonlyArray<Damage>,
  keptIn: string,
  format: Log.Format,
  method: string
) =>
  Effect.gen(function*() {
    const target = yield* createPrivate(fs, keptIn)
    let records = 0
    const count = format instanceof Log.LogSecret
      ? (chunk: Buffer) => {
        records += countMarkers(chunk, format.markerBytes)
      }
      : undefined
    yield* Effect.gen(function*() {
      for (const region of damage) {
        yield* target.file.writeAll(asideHeader(region))
        yield* copyRange(log.file, target.file, region.offset, region.offset + region.length, method, count)
        yield* target.file.writeAll(Buffer.from("\n"))
      }
      yield* target.file.sync
    }).pipe(Effect.ensuring(closeHandle(target)))
    yield* log.syncFolder
    return count === undefined ? undefined : records
  })

/**
 * Opens the log at `paths.log` into `log` and `index`. Temporary files left by a crash are removed (the caller holds
 * the lock: nothing else uses them).
 *
 * @internal
 */
export const open = (
  fs: FileSystem.FileSystem,
  paths: LogPaths,
  log: LogFile,
  index: FileIndex,
  method: string,
  onCorruption: OnCorruption
): Effect.Effect<void, Store.SessionStoreError> =>
  Effect.gen(function*() {
    const path = paths.log
    yield* fs.remove(paths.compact, { force: true })
    yield* fs.remove(paths.rewrite, { force: true })
    if (!(yield* fs.exists(path))) {
      const handle = yield* createPrivate(fs, path)
      log.attach(handle)
      log.secret = Log.LogSecret.random()
      log.end = yield* initialize(handle.file, log.secret)
      yield* log.syncFolder
      return
    }
    log.attach(yield* openHandle(fs, path, "r+"))
    const file = log.file
    const fileSize = Number((yield* file.stat).size)
    const head = Buffer.alloc(Log.HEADER_SIZE)
    yield* file.seek(0, "start")
    const headLength = yield* readFully(file, head)
    const header = Log.checkHeader(head, Math.min(headLength, fileSize))
    const refused = refusal(header)
    if (refused !== undefined) return yield* Effect.fail(corrupt(method, `refusing to open ${path}: ${refused}`))
    if (header._tag !== "Valid") {
      // empty, or the creation of the log was interrupted before its header was complete
      log.secret = Log.LogSecret.random()
      log.end = yield* initialize(file, log.secret)
      return
    }
    const format = header.format
    const { damage, good, why } = yield* replay(file, fileSize, index, yield* Clock.currentTimeMillis, format)
    index.recount()
    log.end = good
    // a format 1 log gets a secret now: it is rewritten below
    log.secret = format instanceof Log.LogSecret ? format : Log.LogSecret.random()
    const annotations = { path, fileSize, offset: good, droppedBytes: fileSize - good }

    if (damage.length > 0) {
      if (onCorruption === "refuse") return yield* Effect.fail(corrupt(method, damageRefusal(path, damage)))
      // the damaged bytes go aside (and are durable) before anything is rewritten
      const keptIn = paths.damaged(asideStamp())
      const records = yield* keepAside(fs, log, damage, keptIn, format, method)
      yield* rewriteLog(fs, paths, log, index)
      yield* Effect.logError(damageReport({
        path,
        format: format.version,
        damage,
        records,
        forgotten: index.forgotten,
        keptIn
      })).pipe(Effect.annotateLogs({ path, keptIn, damage: JSON.stringify(damage) }))
      if (good < fileSize) {
        yield* Effect.logWarning(tornTailWarning(fileSize, good, why)).pipe(Effect.annotateLogs(annotations))
      }
      return
    }
    if (good < fileSize) {
      yield* file.truncate(good)
      yield* file.sync
      yield* Effect.logWarning(tornTailWarning(fileSize, good, why)).pipe(Effect.annotateLogs(annotations))
    }
    if (format.version === 1) {
      yield* rewriteLog(fs, paths, log, index)
      yield* Effect.logInfo(`FileStore: rewrote ${path} from log format 1 to format 2`)
    }
  }).pipe(orIo(method, `cannot open ${paths.log}`))
