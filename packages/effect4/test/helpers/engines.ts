/**
 * Engines for the HTTP-level tests that need one on disk.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as FileStore from "../../src/FileStore.js"

/** A FileStore on a log in a fresh temporary folder, removed when the layer is released. */
export const tempFileStore = (options: Omit<FileStore.FileStoreOptions, "path"> = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "session-suite-" })
    return FileStore.layer({ ...options, path: `${dir}/sessions.log` })
  })).pipe(Layer.provide(NodeFileSystem.layer))
