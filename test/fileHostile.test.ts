/**
 * FileStore against hostile or surprising files (issue 16): symbolic links (one log, one lock, whatever the
 * spelling), file modes, damage in the middle of the log (with forged records inside session values), and a log
 * truncated or replaced while the store has it open. Everything goes through the platform FileSystem, on real
 * files, links and truncations.
 */
import { NodeFileSystem } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { crc32 } from "../src/core/crc32.js"
import * as FileStore from "../src/FileStore.js"

// ---- helpers ----

const bytes = (text: string) => new TextEncoder().encode(text)
const at = (millis: number) => DateTime.unsafeMake(millis)
const HOUR = 3_600_000

/** A fresh temporary folder for the current scope. */
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "filehostile-" }))

const findText = (store: FileStore.FileStore, token: string) =>
  Effect.map(store.find(token), (found) => Option.isSome(found) ? Buffer.from(found.value).toString() : undefined)

const tokensOf = (store: FileStore.FileStore) =>
  Effect.map(Stream.runCollect(store.all), (chunk) => Chunk.toReadonlyArray(chunk).map(([token]) => token).sort())

/** Opens a store in its own scope, runs `f`, and releases the store. */
const withStore = <A, E, R>(
  options: FileStore.FileStoreOptions,
  f: (store: FileStore.FileStore) => Effect.Effect<A, E, R>
) => Effect.scoped(Effect.flatMap(FileStore.make(options), f))

/** Captures log messages at warning level and above, with their level. */
const captureLogs = () => {
  const messages: Array<{ readonly level: string; readonly message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning" || logLevel._tag === "Error" || logLevel._tag === "Fatal") {
      messages.push({
        level: logLevel._tag,
        message: (Array.isArray(message) ? message : [message]).map(String).join(" ")
      })
    }
  })
  return { messages, layer: Logger.replace(Logger.defaultLogger, logger) }
}

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
      const first = yield* FileStore.make({ path: real }).pipe(Scope.extend(scope))
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

// ---- the log format, as the tests see it (documented in src/core/fileLog.ts) ----

const HEADER_SIZE = 32
const RECORD_OVERHEAD = 23
const recordSize = (token: string, data: number) => RECORD_OVERHEAD + Buffer.byteLength(token) + data

/** Where each record of a log written by `ops` (one record each, from the header on) starts, and where it ends. */
const layout = (ops: ReadonlyArray<readonly [string, number]>) => {
  const starts: Array<number> = []
  let at = HEADER_SIZE
  for (const [token, data] of ops) {
    starts.push(at)
    at += recordSize(token, data)
  }
  return { starts, end: at }
}

/** A record framed as format 1 (0.1.0) wrote it: no marker, a CRC-32 without key. */
const v1Record = (op: 1 | 2, token: string, expiresAt: number, data: Uint8Array) => {
  const t = Buffer.from(token)
  const record = Buffer.alloc(19 + t.length + data.length)
  record.writeUInt32LE(11 + t.length + data.length, 0)
  record[8] = op
  record.writeUInt16LE(t.length, 9)
  t.copy(record, 11)
  record.writeDoubleLE(expiresAt, 11 + t.length)
  record.set(data, 19 + t.length)
  record.writeUInt32LE(crc32(record, 8, record.length, crc32(record, 0, 4)), 4)
  return record
}

/** The header of a format 1 log. */
const v1Header = Buffer.from("45465345534c4f4701000000" + "8d1eaddf", "hex")

/** Flips bits of the byte at `offset` of the file at `path`. */
const flip = (path: string, offset: number, bits = 0x08) => {
  const file = NodeFs.readFileSync(path)
  file[offset] = file[offset]! ^ bits
  NodeFs.writeFileSync(path, file)
  return file
}

const damagedFiles = (dir: string) => NodeFs.readdirSync(dir).filter((name) => name.includes(".damaged-"))

describe("FileStore: damage in the middle of the log", () => {
  it.effect("one flipped bit in the second of five records: the three after it are kept, the damage kept aside", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      const tokens = ["t1", "t2", "t3", "t4", "t5"]
      yield* withStore(
        { path, compaction: false },
        (store) =>
          Effect.forEach(tokens, (token) => store.save(token, bytes(`value of ${token}`), at(HOUR)), { discard: true })
      )
      const { end, starts } = layout(tokens.map((token) => [token, `value of ${token}`.length] as const))
      assert.strictEqual(NodeFs.statSync(path).size, end, "one record per save, framed as documented")
      const damagedAt = starts[1]! + RECORD_OVERHEAD + 2 + 3 // inside t2's data
      const damaged = flip(path, damagedAt)

      const logs = captureLogs()
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* tokensOf(store), ["t3", "t4", "t5"])
          assert.strictEqual(yield* findText(store, "t4"), "value of t4")
          // t1's last record precedes the damage: the damaged record might have deleted it
          assert.isUndefined(yield* findText(store, "t1"))
          assert.strictEqual(NodeFs.statSync(path).size, yield* store.logSize)
          assert.strictEqual(yield* store.logSize, yield* store.liveSize, "rewritten from memory")
        })).pipe(Effect.provide(logs.layer))

      const errors = logs.messages.filter((m) => m.level === "Error")
      assert.strictEqual(errors.length, 1, JSON.stringify(logs.messages))
      const error = errors[0]!.message
      const length = starts[2]! - starts[1]!
      assert.include(error, `skipped ${length} bytes (about 1 record)`)
      assert.include(error, `${length} bytes at offset ${starts[1]}`)
      assert.include(error, "1 session last saved before the damage was dropped")
      assert.notInclude(error, "torn")
      assert.isFalse(logs.messages.some((m) => m.message.includes("torn")), "this is not a torn tail")

      // the damaged bytes, kept aside (0600) before the log was rewritten
      const aside = damagedFiles(dir)
      assert.strictEqual(aside.length, 1)
      const asidePath = NodePath.join(dir, aside[0]!)
      assert.include(error, asidePath)
      assert.strictEqual(NodeFs.statSync(asidePath).mode & 0o777, 0o600)
      assert.deepStrictEqual(
        NodeFs.readFileSync(asidePath),
        Buffer.concat([
          Buffer.from(`EFSES-DAMAGED offset=${starts[1]} length=${length}\n`),
          damaged.subarray(starts[1]!, starts[2]!),
          Buffer.from("\n")
        ])
      )
      assert.strictEqual(NodeFs.statSync(path).mode & 0o777, 0o600, "the rewritten log")

      // the rewritten log opens cleanly
      const again = captureLogs()
      yield* withStore(
        { path },
        (store) => Effect.map(tokensOf(store), (all) => assert.deepStrictEqual(all, ["t3", "t4", "t5"]))
      )
        .pipe(Effect.provide(again.layer))
      assert.deepStrictEqual(again.messages, [])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a record forged inside a session value never becomes a session, wherever the damage", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      yield* withStore({ path }, (store) => store.save("before", bytes("b"), at(HOUR)))
      // the attacker knows the format and, say, even the log's marker, but not its checksum key
      const marker = NodeFs.readFileSync(path).subarray(12, 16)
      const forgedV1 = v1Record(1, "victim", 9e15, bytes("admin"))
      const forgedV2 = Buffer.concat([marker, forgedV1])
      forgedV2.writeUInt32LE(crc32(forgedV2, 12, forgedV2.length, crc32(forgedV2, 4, 8)), 8)
      const value = Buffer.concat([Buffer.from("xx"), forgedV1, forgedV2, forgedV1])
      const ops = [["before", 1], ["attacker", value.length], ["after", 1]] as const
      const { starts } = layout(ops)
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          yield* store.save("attacker", value, at(HOUR))
          yield* store.save("after", bytes("a"), at(HOUR))
        }))
      const intact = NodeFs.readFileSync(path)
      // damage the enclosing record's framing (length, checksum, operation, token length) or the start of its value
      for (const offset of [4, 5, 8, 11, 12, 13, RECORD_OVERHEAD + 8 + 1]) {
        NodeFs.writeFileSync(path, intact)
        flip(path, starts[1]! + offset, 0x01)
        for (const name of damagedFiles(dir)) NodeFs.rmSync(NodePath.join(dir, name))
        const logs = captureLogs()
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            assert.isUndefined(yield* findText(store, "victim"), `damage at +${offset}: the forged record was adopted`)
            assert.deepStrictEqual(yield* tokensOf(store), ["after"], `damage at +${offset}`)
          })).pipe(Effect.provide(logs.layer))
        assert.include(
          logs.messages.find((m) => m.level === "Error")?.message,
          `${starts[2]! - starts[1]!} bytes at offset ${starts[1]}`
        )
      }
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a session deleted or renewed in the damaged bytes does not come back; later saves are kept", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      const history: Array<readonly [string, string | undefined]> = [
        ["logged-out", "1"],
        ["renewed-old", "2"],
        ["idle", "3"],
        ["active", "4"],
        ["renewed-new", "2"], // a renew: the new token is saved, then the old one deleted
        ["renewed-old", undefined],
        ["logged-out", undefined], // a logout
        ["active", "5"],
        ["fresh", "6"]
      ]
      yield* withStore({ path, compaction: false }, (store) =>
        Effect.forEach(
          history,
          ([token, value]) => value === undefined ? store.delete(token) : store.save(token, bytes(value), at(HOUR)),
          { discard: true }
        ))
      const { starts } = layout(history.map(([token, value]) => [token, value?.length ?? 0] as const))
      // the two deletes are damaged: one bit each, in their tokens
      flip(path, starts[5]! + RECORD_OVERHEAD - 8 + 2)
      flip(path, starts[6]! + RECORD_OVERHEAD - 8 + 2)
      const logs = captureLogs()
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          assert.isUndefined(yield* findText(store, "logged-out"), "a logout came undone")
          assert.isUndefined(yield* findText(store, "renewed-old"), "a renewed token came back")
          assert.isUndefined(yield* findText(store, "idle"), "last saved before the damage: treated as gone")
          assert.isUndefined(yield* findText(store, "renewed-new"), "last saved before the damage: treated as gone")
          assert.strictEqual(yield* findText(store, "active"), "5", "saved again after the damage")
          assert.strictEqual(yield* findText(store, "fresh"), "6")
        })).pipe(Effect.provide(logs.layer))
      const error = logs.messages.find((m) => m.level === "Error")!.message
      assert.include(error, "about 2 records")
      assert.include(error, "4 sessions last saved before the damage were dropped")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("onCorruption: \"refuse\" fails with Corrupt and leaves the file as it is", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      yield* withStore({ path }, (store) =>
        Effect.forEach(["a", "b", "c"], (token) => store.save(token, bytes("x"), at(HOUR)), { discard: true }))
      const damaged = flip(path, HEADER_SIZE + recordSize("a", 1) + 9)
      const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path, onCorruption: "refuse" })))
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, `at offset ${HEADER_SIZE + recordSize("a", 1)}`)
      assert.deepStrictEqual(NodeFs.readFileSync(path), damaged)
      assert.deepStrictEqual(damagedFiles(dir), [])
      assert.isFalse(NodeFs.existsSync(`${path}.lock`))
      const invalid = yield* Effect.flip(Effect.scoped(FileStore.make({ path, onCorruption: "ignore" as any })))
      assert.strictEqual(invalid.reason, "InvalidInput")
      // the default skips
      yield* withStore({ path }, (store) =>
        Effect.map(tokensOf(store), (all) => assert.deepStrictEqual(all, ["c"])))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a torn tail (nothing valid after it) is still cut with a warning, and nothing is kept aside", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      yield* withStore(
        { path },
        (store) =>
          Effect.forEach(["a", "b", "c"], (token) => store.save(token, bytes("xyz"), at(HOUR)), { discard: true })
      )
      const full = NodeFs.readFileSync(path)
      NodeFs.writeFileSync(path, full.subarray(0, full.length - 5))
      const logs = captureLogs()
      yield* withStore(
        { path },
        (store) => Effect.map(tokensOf(store), (all) => assert.deepStrictEqual(all, ["a", "b"]))
      )
        .pipe(Effect.provide(logs.layer))
      assert.deepStrictEqual(logs.messages.map((m) => m.level), ["Warning"])
      assert.include(logs.messages[0]!.message, `dropped ${recordSize("c", 3) - 5} bytes of torn log tail`)
      assert.deepStrictEqual(damagedFiles(dir), [])
      assert.strictEqual(NodeFs.statSync(path).size, full.length - recordSize("c", 3))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a log written by 0.1.0 (format 1) opens with its sessions, and is rewritten in format 2", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      const records = [
        v1Record(1, "kept", 9e15, bytes("k")),
        v1Record(1, "deleted", 9e15, bytes("d")),
        v1Record(1, "expired", 0, bytes("e")), // expired at open (the TestClock starts at 0)
        v1Record(2, "deleted", 0, new Uint8Array(0)),
        v1Record(1, "overwritten", 9e15, bytes("1")),
        v1Record(1, "overwritten", 9e15, bytes("2"))
      ]
      NodeFs.writeFileSync(path, Buffer.concat([v1Header, ...records]))
      const logs = captureLogs()
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* tokensOf(store), ["kept", "overwritten"])
          assert.strictEqual(yield* findText(store, "overwritten"), "2")
          yield* store.save("new", bytes("n"), at(HOUR))
        })).pipe(Effect.provide(logs.layer))
      assert.deepStrictEqual(logs.messages, [])
      const upgraded = NodeFs.readFileSync(path)
      assert.strictEqual(upgraded.readUInt16LE(8), 2, "format 2 now")
      yield* withStore(
        { path },
        (store) => Effect.map(tokensOf(store), (all) => assert.deepStrictEqual(all, ["kept", "new", "overwritten"]))
      )

      // damage in a format 1 log: its records after the damage cannot be told from forged ones
      const forged = v1Record(1, "victim", 9e15, bytes("admin"))
      const value = Buffer.concat([Buffer.from("x"), forged])
      const old = Buffer.concat([
        v1Header,
        v1Record(1, "a", 9e15, bytes("a")),
        v1Record(1, "attacker", 9e15, value),
        v1Record(1, "b", 9e15, bytes("b"))
      ])
      const enclosing = 16 + 19 + 1 + 1
      old[enclosing + 4] = old[enclosing + 4]! ^ 1 // its checksum
      NodeFs.writeFileSync(path, old)
      const v1Logs = captureLogs()
      yield* withStore({ path }, (store) => Effect.map(tokensOf(store), (all) => assert.deepStrictEqual(all, [])))
        .pipe(Effect.provide(v1Logs.layer))
      const error = v1Logs.messages.find((m) => m.level === "Error")!.message
      assert.include(error, "format 1")
      assert.include(error, `the ${old.length - enclosing} bytes from offset ${enclosing} on`)
      assert.strictEqual(damagedFiles(dir).length, 1)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})

/** Sleeps for real, whatever the clock. */
const realSleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/** The Node file system, where every fsync of a compaction's temporary file waits for `release` (after `reached`). */
const gatedCompaction = (
  gate: { readonly reached: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> }
) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) =>
      FileSystem.FileSystem.of({
        ...fs,
        open: (path, options) =>
          Effect.map(fs.open(path, options), (file) =>
            path.endsWith(".compact")
              ? new Proxy(file, {
                get(target, property) {
                  if (property === "sync") {
                    return Deferred.succeed(gate.reached, void 0).pipe(
                      Effect.zipRight(Deferred.await(gate.release)),
                      Effect.zipRight(target.sync)
                    )
                  }
                  const value = Reflect.get(target, property, target)
                  return typeof value === "function" ? value.bind(target) : value
                }
              })
              : file)
      }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

describe("FileStore: the log truncated or replaced while open", () => {
  it.effect("truncated (copytruncate, > sessions.log): the next save rewrites the log first, and nothing is lost", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const truncateTo of [0, HEADER_SIZE + 10]) {
        const path = NodePath.join(dir, `truncated-${truncateTo}.log`)
        const logs = captureLogs()
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            for (let i = 0; i < 5; i++) yield* store.save(`before-${i}`, bytes(`value ${i}`), at(HOUR))
            NodeFs.copyFileSync(path, `${path}.1`)
            NodeFs.truncateSync(path, truncateTo)
            yield* store.save("after", bytes("after the truncation"), at(HOUR))
            assert.strictEqual(NodeFs.statSync(path).size, yield* store.logSize)
            assert.strictEqual(NodeFs.readFileSync(path).readUInt16LE(8), 2, "a valid header")
            yield* store.delete("before-0")
          })).pipe(Effect.provide(logs.layer))
        assert.strictEqual(logs.messages.length, 1, JSON.stringify(logs.messages))
        assert.strictEqual(logs.messages[0]!.level, "Error")
        assert.include(logs.messages[0]!.message, "truncated")

        const again = captureLogs()
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            assert.deepStrictEqual(yield* tokensOf(store), ["after", "before-1", "before-2", "before-3", "before-4"])
            assert.strictEqual(yield* findText(store, "before-3"), "value 3")
          })).pipe(Effect.provide(again.layer))
        assert.deepStrictEqual(again.messages, [], `truncated to ${truncateTo}`)
      }
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("moved away (logrotate create) or removed: within a second the store writes the log back at its path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const how of ["create", "remove"] as const) {
        const path = NodePath.join(dir, `${how}.log`)
        const logs = captureLogs()
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            for (let i = 0; i < 5; i++) yield* store.save(`before-${i}`, bytes(`value ${i}`), at(HOUR))
            if (how === "create") {
              NodeFs.renameSync(path, `${path}.1`)
              NodeFs.writeFileSync(path, "")
            } else {
              NodeFs.rmSync(path)
            }
            yield* realSleep(1100)
            yield* store.save("after", bytes("after the rotation"), at(HOUR))
            assert.strictEqual(NodeFs.statSync(path).size, yield* store.logSize)
          })).pipe(Effect.provide(logs.layer))
        assert.include(
          logs.messages.find((m) => m.level === "Error")?.message,
          how === "create" ? "replaced" : "removed"
        )
        if (how === "create") {
          // the moved file was not written to after the rotation
          const moved = NodeFs.readFileSync(`${path}.1`)
          assert.strictEqual(moved.length, HEADER_SIZE + 5 * recordSize("before-0", "value 0".length))
        }
        yield* withStore(
          { path },
          (store) =>
            Effect.map(
              tokensOf(store),
              (all) =>
                assert.deepStrictEqual(all, ["after", "before-0", "before-1", "before-2", "before-3", "before-4"])
            )
        )
      }
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a compaction started before the log was rewritten does not swap in after it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "sessions.log")
      const gate = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
      yield* withStore({ path, compaction: false }, (store) =>
        Effect.gen(function*() {
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 40; i++) yield* store.save(`t-${i}`, bytes(`v${round}-${i}`), at(HOUR))
          }
          const compaction = yield* Effect.fork(store.compact)
          yield* Deferred.await(gate.reached)
          // the compaction has written its snapshot; the log is rotated away, and a save rewrites it from memory
          NodeFs.renameSync(path, `${path}.1`)
          NodeFs.writeFileSync(path, "")
          yield* realSleep(1100)
          yield* store.save("during", bytes("saved while the compaction waited"), at(HOUR))
          yield* Deferred.succeed(gate.release, void 0)
          yield* Fiber.join(compaction)
          yield* store.save("after", bytes("saved after the compaction"), at(HOUR))
          assert.strictEqual(NodeFs.statSync(path).size, yield* store.logSize)
        })).pipe(Effect.provide(gatedCompaction(gate)))
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* tokensOf(store)).length, 42)
          assert.strictEqual(yield* findText(store, "during"), "saved while the compaction waited")
          assert.strictEqual(yield* findText(store, "after"), "saved after the compaction")
          assert.strictEqual(yield* findText(store, "t-7"), "v4-7")
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
