/**
 * A real `effect/FileSystem` with switchable faults, for disk-full and I/O-error tests (the tests run as root, so
 * permissions cannot stand in for a full disk). Every call goes to the real file system; the faults only cut
 * writes short (`ENOSPC` once the byte budget is spent, after writing what fits, as a real full disk does) or fail
 * `fsync` with `EIO`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as PlatformError from "effect/PlatformError"

export interface Faults {
  /** Bytes that may still be written to files opened through this layer; `undefined`: no limit. */
  writeBudget: number | undefined
  /** Fail every `fsync` with `EIO`. */
  failSync: boolean
}

export const makeFaults = (): Faults => ({ writeBudget: undefined, failSync: false })

const enospc = (method: string) =>
  PlatformError.systemError({
    _tag: "Unknown",
    module: "FileSystem",
    method,
    syscall: "write",
    description: "ENOSPC: no space left on device"
  })

const eio = PlatformError.systemError({
  _tag: "Unknown",
  module: "FileSystem",
  method: "sync",
  syscall: "fsync",
  description: "EIO: i/o error"
})

const wrapFile = (file: FileSystem.File, faults: Faults): FileSystem.File => {
  const limited = (
    buffer: Uint8Array,
    method: string,
    write: (b: Uint8Array) => Effect.Effect<void, PlatformError.PlatformError>
  ) =>
    Effect.suspend(() => {
      const budget = faults.writeBudget
      if (budget === undefined) return write(buffer)
      if (buffer.length <= budget) {
        faults.writeBudget = budget - buffer.length
        return write(buffer)
      }
      faults.writeBudget = 0
      return Effect.andThen(budget > 0 ? write(buffer.subarray(0, budget)) : Effect.void, Effect.fail(enospc(method)))
    })
  // the platform's File may be a class with getters and prototype methods: forward each one explicitly
  return {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    get stat() {
      return file.stat
    },
    seek: (offset, from) => file.seek(offset, from),
    read: (buffer, options) => file.read(buffer, options),
    readAlloc: (size, options) => file.readAlloc(size, options),
    truncate: (length) => file.truncate(length),
    sync: Effect.suspend(() => (faults.failSync ? Effect.fail(eio) : file.sync)),
    writeAll: (buffer) => limited(buffer, "writeAll", (b) => file.writeAll(b)),
    write: (buffer) => Effect.map(limited(buffer, "write", (b) => file.writeAll(b)), () => buffer.length)
  }
}

/** The Node file system, with `faults` applied to the files it opens. */
export const layer = (faults: Faults): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) =>
      FileSystem.FileSystem.of({
        ...fs,
        open: (path, options) => Effect.map(fs.open(path, options), (file) => wrapFile(file, faults))
      }))
  ).pipe(Layer.provide(NodeFileSystem.layer))
