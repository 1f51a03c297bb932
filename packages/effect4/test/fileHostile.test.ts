/**
 * FileStore against hostile or surprising files (issue 16): symbolic links (one log, one lock, whatever the
 * spelling), file modes, damage in the middle of the log (with forged records inside session values), and a log
 * truncated or replaced while the store has it open. The Effect 4 port of the root test/fileHostile.test.ts. Everything goes through the platform FileSystem, on real
 * files, links and truncations.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as FileStore from "../src/FileStore.js"

// ---- helpers ----

const bytes = (text: string) => new TextEncoder().encode(text)
const at = (millis: number) => DateTime.makeUnsafe(millis)
const HOUR = 3_600_000

/** A fresh temporary folder for the current scope. */
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "filehostile-" }))

const findText = (store: FileStore.FileStore, token: string) =>
  Effect.map(store.find(token), (found) => Option.isSome(found) ? Buffer.from(found.value).toString() : undefined)

const tokensOf = (store: FileStore.FileStore) =>
  Effect.map(Stream.runCollect(store.all), (chunk) => chunk.map(([token]) => token).sort())

/** Opens a store in its own scope, runs `f`, and releases the store. */
const withStore = <A, E, R>(
  options: FileStore.FileStoreOptions,
  f: (store: FileStore.FileStore) => Effect.Effect<A, E, R>
) => Effect.scoped(Effect.flatMap(FileStore.make(options), f))

const isLink = (path: string) => NodeFs.lstatSync(path).isSymbolicLink()

// ---- tests ----

describe("FileStore: symbolic links", () => {
  it.effect("a link and its target are one log with one lock: the second store fails with Locked", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const real = NodePath.join(dir, "real.log")
      const link = NodePath.join(dir, "link.log")
      NodeFs.symlinkSync("real.log", link)
      const scope = yield* Scope.make()
      const first = yield* FileStore.make({ path: real }).pipe(Scope.provide(scope))
      yield* first.save("t", bytes("x"), at(HOUR))
      const second = yield* Effect.flip(Effect.scoped(FileStore.make({ path: link })))
      assert.strictEqual(second.reason, "Locked")
      assert.isFalse(NodeFs.existsSync(`${link}.lock`), "no second lock next to the link")
      yield* Scope.close(scope, Exit.void)

      // through the link: the lock is the target's, and another process holding it keeps this store out
      yield* withStore({ path: link }, (store) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* findText(store, "t"), "x")
          assert.isTrue(NodeFs.existsSync(`${real}.lock`))
          assert.isFalse(NodeFs.existsSync(`${link}.lock`))
          const third = yield* Effect.flip(Effect.scoped(FileStore.make({ path: real })))
          assert.strictEqual(third.reason, "Locked")
        }))
      NodeFs.writeFileSync(`${real}.lock`, `${process.ppid}\n\nanother process\n`)
      const foreign = yield* Effect.flip(Effect.scoped(FileStore.make({ path: link })))
      assert.strictEqual(foreign.reason, "Locked")
      assert.include(foreign.message, String(process.ppid))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("compaction through a link rewrites the link's target; the link stays a link", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NodeFs.mkdirSync(NodePath.join(dir, "data"))
      const real = NodePath.join(dir, "data", "sessions.log")
      const link = NodePath.join(dir, "sessions.log")
      NodeFs.symlinkSync(NodePath.join("data", "sessions.log"), link)
      yield* withStore({ path: link, compaction: false }, (store) =>
        Effect.gen(function*() {
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 50; i++) yield* store.save(`t-${i}`, bytes(`v${round}-${i}`), at(HOUR))
          }
          const before = yield* store.logSize
          yield* store.compact
          assert.isBelow(yield* store.logSize, before / 2)
          assert.isTrue(isLink(link), "the link is still a link")
          assert.isFalse(isLink(real))
          assert.strictEqual(NodeFs.statSync(real).size, yield* store.logSize, "the target holds the compacted log")
          assert.isFalse(NodeFs.existsSync(`${link}.compact`))
          yield* store.save("after", bytes("compaction"), at(HOUR))
        }))
      yield* withStore({ path: real }, (store) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* tokensOf(store)).length, 51)
          assert.strictEqual(yield* findText(store, "t-7"), "v4-7")
          assert.strictEqual(yield* findText(store, "after"), "compaction")
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a link to a log not created yet: the first start creates the target", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NodeFs.mkdirSync(NodePath.join(dir, "volume"))
      const real = NodePath.join(dir, "volume", "sessions.log")
      const link = NodePath.join(dir, "sessions.log")
      NodeFs.symlinkSync(real, link)
      yield* withStore({ path: link }, (store) => store.save("t", bytes("first start"), at(HOUR)))
      assert.isTrue(isLink(link))
      assert.isTrue(NodeFs.statSync(real).isFile())
      yield* withStore({ path: link }, (store) =>
        Effect.map(findText(store, "t"), (v) => assert.strictEqual(v, "first start")))
      yield* withStore({ path: real }, (store) =>
        Effect.map(findText(store, "t"), (v) =>
          assert.strictEqual(v, "first start")))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("relative targets resolve against the link's folder, chains are followed, a loop fails with Io", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const folder of ["a", "b", "c"]) NodeFs.mkdirSync(NodePath.join(dir, folder))
      // a/first -> ../b/second -> ../c/sessions.log (not created yet); the working directory is elsewhere
      NodeFs.symlinkSync(NodePath.join("..", "b", "second"), NodePath.join(dir, "a", "first"))
      NodeFs.symlinkSync(NodePath.join("..", "c", "sessions.log"), NodePath.join(dir, "b", "second"))
      const real = NodePath.join(dir, "c", "sessions.log")
      yield* withStore({ path: NodePath.join(dir, "a", "first") }, (store) =>
        Effect.gen(function*() {
          yield* store.save("t", bytes("chained"), at(HOUR))
          assert.isTrue(NodeFs.existsSync(`${real}.lock`), "the lock is next to the real log")
          assert.deepStrictEqual(NodeFs.readdirSync(NodePath.join(dir, "a")), ["first"])
          const viaMiddle = yield* Effect.flip(
            Effect.scoped(FileStore.make({ path: NodePath.join(dir, "b", "second") }))
          )
          assert.strictEqual(viaMiddle.reason, "Locked")
        }))
      assert.isTrue(NodeFs.statSync(real).isFile())
      yield* withStore(
        { path: real },
        (store) => Effect.map(findText(store, "t"), (v) => assert.strictEqual(v, "chained"))
      )

      NodeFs.symlinkSync("loop-b", NodePath.join(dir, "loop-a"))
      NodeFs.symlinkSync("loop-a", NodePath.join(dir, "loop-b"))
      const loop = yield* Effect.flip(Effect.scoped(FileStore.make({ path: NodePath.join(dir, "loop-a") })))
      assert.strictEqual(loop.reason, "Io")
      assert.include(loop.message, "symbolic links")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})

describe("FileStore: file modes", () => {
  /** Runs `effect` with the process's umask set to `mask`, restored after. */
  const withUmask = <A, E, R>(mask: number, effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => process.umask(mask)),
      () => effect,
      (previous) => Effect.sync(() => process.umask(previous))
    )

  const modeOf = (path: string) => NodeFs.statSync(path).mode & 0o777

  it.effect("the log, its lock and a compacted log are created 0600, whatever the umask", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const mask of [0o000, 0o022, 0o277]) {
        const path = NodePath.join(dir, `umask-${mask.toString(8)}.log`)
        yield* withUmask(
          mask,
          withStore({ path, compaction: false }, (store) =>
            Effect.gen(function*() {
              assert.strictEqual(modeOf(path), 0o600, `the log, umask ${mask.toString(8)}`)
              assert.strictEqual(modeOf(`${path}.lock`), 0o600, `the lock, umask ${mask.toString(8)}`)
              for (let i = 0; i < 20; i++) yield* store.save("t", bytes(`v${i}`), at(HOUR))
              yield* store.compact
              assert.strictEqual(modeOf(path), 0o600, `the compacted log, umask ${mask.toString(8)}`)
            }))
        )
      }
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
