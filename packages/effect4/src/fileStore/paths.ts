/**
 * The log's real path, resolved once when the store opens (the resolution itself is `core/filePaths.ts`); every
 * other path of the store is derived from it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import { type LogPaths, logPaths, PathResolver } from "../core/filePaths.js"
import type * as Store from "../Store.js"
import { io, ioError, isReason, orIo } from "./errors.js"

/** The mode of a folder FileStore creates for its log: the owner's only. @internal */
const FOLDER_MODE = 0o700

/** Resolves `path` (links followed, folders canonicalized) into the paths of the store. @internal */
export const resolveLogPaths = (
  fs: FileSystem.FileSystem,
  path: string,
  method: string
): Effect.Effect<LogPaths, Store.SessionStoreError> =>
  Effect.gen(function*() {
    const resolver = new PathResolver(path)
    for (;;) {
      const step = resolver.next()
      switch (step._tag) {
        case "Done":
          return logPaths(step.path)
        case "Fail":
          return yield* Effect.fail(io(method, `cannot open ${path}: ${step.why}`))
        case "RealFolder":
          // a missing folder (of the real path, after the links) is created, with its parents
          resolver.folderIs(
            yield* fs.realPath(step.folder).pipe(
              Effect.catchIf((error) => isReason(error, "NotFound"), () =>
                fs.makeDirectory(step.folder, { recursive: true, mode: FOLDER_MODE }).pipe(
                  Effect.mapError(ioError(method, `cannot open ${path}: cannot create the folder ${step.folder}`)),
                  Effect.flatMap(() =>
                    fs.realPath(step.folder)
                  )
                )),
              orIo(method, `cannot open ${path}: no folder ${step.folder}`)
            )
          )
          break
        case "ReadLink":
          // not a link (EINVAL), or nothing there yet: this is the real path
          resolver.linkIs(yield* Effect.orElseSucceed(fs.readLink(step.path), () => undefined))
      }
    }
  })
