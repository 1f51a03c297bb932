/**
 * FileStore on Effect 4: the same checks as the Effect 3 line's test/FileStore.test.ts (the crash test with a
 * SIGKILLed child is in crash.test.ts here; the log format, replay and lock rules are unit-tested once, in the root
 * test/core).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as PlatformError from "effect/PlatformError"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as FileStore from "../src/FileStore.js"
import * as Store from "../src/Store.js"
import { storeConformance } from "../src/testing.js"

const tempStore = (options: Omit<FileStore.FileStoreOptions, "path"> = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "filestore-" })
    return FileStore.layer({ ...options, path: `${dir}/sessions.log` })
  })).pipe(Layer.provide(NodeFileSystem.layer))

storeConformance("FileStore", () => tempStore(), { clock: "test" })
storeConformance("FileStore (sync always)", () => tempStore({ sync: "always" }), { clock: "test" })
storeConformance(
  "FileStore (sync never, compaction at any size, no cleanup)",
  () => tempStore({ sync: "never", compaction: { minSize: 0 }, cleanupInterval: 0 }),
  { clock: "test" }
)

// ---- helpers ----

const RECORD_OVERHEAD = 23
const HEADER_SIZE = 32

const bytes = (text: string) => new TextEncoder().encode(text)
const at = (millis: number) => DateTime.makeUnsafe(millis)
const HOUR = 3_600_000

/** A small deterministic PRNG (mulberry32), so failures can be replayed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const filled = (length: number, seed: number) => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff
  return out
}

/** A fresh temporary folder for the current scope, and the log path inside it. */
const tempPath = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "filestore-" })
  return NodePath.join(dir, "sessions.log")
})

const findBytes = (store: FileStore.FileStore, token: string) => Effect.map(store.find(token), Option.getOrUndefined)

const allOf = (store: FileStore.FileStore) =>
  Effect.map(Stream.runCollect(store.all), (pairs) => new Map(pairs.map(([token, data]) => [token, data] as const)))

/** Whether `fiber` is still running. */
const running = (fiber: Fiber.Fiber<unknown, unknown>) => Effect.sync(() => fiber.pollUnsafe() === undefined)

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b))

/** Opens a store on `path` in its own scope, runs `f`, and releases the store. */
const withStore = <A, E, R>(
  options: FileStore.FileStoreOptions,
  f: (store: FileStore.FileStore) => Effect.Effect<A, E, R>
) => Effect.scoped(Effect.flatMap(FileStore.make(options), f))

/** Captures log messages at warning level and above. */
const captureLogs = () => {
  const messages: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel === "Warn" || logLevel === "Error" || logLevel === "Fatal") {
      messages.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    }
  })
  return { messages, layer: Logger.layer([logger]) }
}

/** Sleeps for real, whatever the clock (the tests run under `TestClock`). */
const realSleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/** Waits (for real, whatever the clock) until `condition` holds, up to about two seconds. */
const eventually = (condition: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400 && !condition(); i++) {
      yield* realSleep(5)
    }
    assert.isTrue(condition(), `timed out waiting for: ${what}`)
  })

/**
 * A real file system with switches to inject faults into, and counters on, the files whose name ends with
 * `sessions.log` (the log) or `.compact` (a compaction's temporary file).
 */
interface Faults {
  failWrites: boolean
  /** With `failWrites`: write the first half of the buffer, then fail (a torn write). */
  partialWrites: boolean
  failSyncs: boolean
  logSyncs: number
  logReads: number
  /** When set, `sync` on the log waits for it. */
  syncGate: Deferred.Deferred<void> | undefined
  /** When set, the first `sync` of a compaction's temporary file completes `reached` and waits for `release`. */
  compactionGate: { readonly reached: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> } | undefined
}

const makeFaults = (): Faults => ({
  failWrites: false,
  partialWrites: false,
  failSyncs: false,
  logSyncs: 0,
  logReads: 0,
  syncGate: undefined,
  compactionGate: undefined
})

const injected = (method: string, description: string) =>
  PlatformError.systemError({ _tag: "Unknown", module: "FileSystem", method, description })

const wrapFile = (path: string, file: FileSystem.File, faults: Faults): FileSystem.File => {
  const isLog = path.endsWith("sessions.log")
  const isCompact = path.endsWith(".compact")
  let compactionSyncs = 0
  return new Proxy(file, {
    get(target, property) {
      if (isLog && property === "writeAll") {
        return (buffer: Uint8Array) => {
          if (!faults.failWrites) return target.writeAll(buffer)
          const failure = Effect.fail(injected("writeAll", "ENOSPC: no space left on device, write"))
          return faults.partialWrites
            ? Effect.andThen(target.writeAll(buffer.subarray(0, buffer.length >> 1)), failure)
            : failure
        }
      }
      if (isLog && property === "read") {
        return (buffer: Uint8Array) => {
          faults.logReads++
          return target.read(buffer)
        }
      }
      if (isLog && property === "sync") {
        return Effect.suspend(() => {
          faults.logSyncs++
          const gate = faults.syncGate === undefined ? Effect.void : Deferred.await(faults.syncGate)
          return Effect.andThen(
            gate,
            faults.failSyncs ? Effect.fail(injected("sync", "EIO: i/o error, fsync")) : target.sync
          )
        })
      }
      if (isCompact && property === "sync") {
        return Effect.suspend(() => {
          const gate = faults.compactionGate
          if (gate === undefined || compactionSyncs++ > 0) return target.sync
          return Deferred.succeed(gate.reached, void 0).pipe(
            Effect.andThen(Deferred.await(gate.release)),
            Effect.andThen(target.sync)
          )
        })
      }
      const value = Reflect.get(target, property, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}

const faultyFileSystem = (faults: Faults): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) =>
      FileSystem.FileSystem.of({
        ...fs,
        open: (path, options) => Effect.map(fs.open(path, options), (file) => wrapFile(path, file, faults))
      }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

// ---- tests ----

describe("FileStore", () => {
  it.effect(
    "restart: every live session comes back with its data and expiry; expired and deleted ones do not",
    () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const n = 10_000
        // a quarter expire after 10 seconds; the others at 1000 s + i ms, so each has its own expiry
        const expiryOf = (i: number) => i % 4 === 0 ? 10_000 : 1_000_000 + i
        const dataOf = (i: number) => filled(i % 300, i)
        const deleted = (i: number) => i % 4 === 1 && i % 7 === 0
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            yield* Effect.forEach(
              Array.from({ length: n }, (_, i) => i),
              (i) => store.save(`token-${i}`, dataOf(i), at(expiryOf(i))),
              { concurrency: 32, discard: true }
            )
            for (let i = 0; i < n; i++) if (deleted(i)) yield* store.delete(`token-${i}`)
          }))

        yield* TestClock.adjust("20 seconds")
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            const live = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 0 && !deleted(i))
            assert.strictEqual(yield* store.size, live.length, "expired and deleted sessions are not loaded")
            for (const i of live) {
              assert.isTrue(sameBytes(yield* findBytes(store, `token-${i}`), dataOf(i)), `token-${i}`)
            }
            assert.isTrue(Option.isNone(yield* store.find("token-0")))
            assert.isTrue(Option.isNone(yield* store.find("token-8")), "expired")
            assert.isTrue(Option.isNone(yield* store.find("token-21")), "deleted")
            assert.isTrue(Option.isSome(yield* store.find("token-7")))

            // each expiry came back to the millisecond
            yield* TestClock.adjust(`${1_000_000 + 5000 - 20_000} millis`)
            const all = yield* allOf(store)
            assert.deepStrictEqual(
              [...all.keys()].sort(),
              live.filter((i) => i > 5000).map((i) => `token-${i}`).sort()
            )
            assert.isTrue(Option.isSome(yield* store.find("token-5001")))
            yield* TestClock.adjust("1 millis")
            assert.isTrue(Option.isNone(yield* store.find("token-5001")))
            assert.isTrue(Option.isSome(yield* store.find("token-5002")))
          }))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)),
    { timeout: 120_000 }
  )

  it.effect("torn tail: opening recovers exactly the records before the damage, truncates and says so", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      const random = prng(42)
      // a deterministic history where every operation writes exactly one record
      type Op = { readonly token: string; readonly data: Uint8Array | undefined }
      const ops: Array<Op> = []
      const present = new Set<string>()
      for (let k = 0; k < 300; k++) {
        const token = `tok-${Math.floor(random() * 60)}`
        if (present.has(token) && random() < 0.25) {
          ops.push({ token, data: undefined })
          present.delete(token)
        } else {
          ops.push({ token, data: filled(Math.floor(random() * 400), k) })
          present.add(token)
        }
      }
      yield* withStore({ path, sync: "never", compaction: false }, (store) =>
        Effect.forEach(
          ops,
          (op) => op.data === undefined ? store.delete(op.token) : store.save(op.token, op.data, at(HOUR)),
          { discard: true }
        ))
      const original = NodeFs.readFileSync(path)
      const ends: Array<number> = []
      let offset = HEADER_SIZE
      for (const op of ops) {
        offset += RECORD_OVERHEAD + Buffer.byteLength(op.token) + (op.data?.length ?? 0)
        ends.push(offset)
      }
      assert.strictEqual(offset, original.length, "one record per operation, framed as documented")

      for (let round = 0; round < 30; round++) {
        const cut = round === 0
          ? original.length
          : round % 5 === 0
          ? ends[Math.floor(random() * ends.length)]!
          : HEADER_SIZE + Math.floor(random() * (original.length - HEADER_SIZE))
        const kind = round % 4
        const garbage = kind === 0
          ? Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)))
          : kind === 1
          ? Buffer.alloc(1 + Math.floor(random() * 4096)) // zeros, as a file extended by a crash
          : kind === 2
          ? (() => {
            // a whole valid-looking record with one byte flipped
            const k = Math.floor(random() * ops.length)
            const start = k === 0 ? HEADER_SIZE : ends[k - 1]!
            const copy = Buffer.from(original.subarray(start, ends[k]!))
            const at = Math.floor(random() * copy.length)
            copy[at] = copy[at]! ^ 0x40
            return copy
          })()
          : Buffer.alloc(0)
        NodeFs.writeFileSync(path, Buffer.concat([original.subarray(0, cut), garbage]))
        const kept = ends.filter((end) => end <= cut).length
        const goodEnd = kept === 0 ? HEADER_SIZE : ends[kept - 1]!
        const expected = new Map<string, Uint8Array>()
        for (const op of ops.slice(0, kept)) {
          if (op.data === undefined) expected.delete(op.token)
          else expected.set(op.token, op.data)
        }
        const logs = captureLogs()
        yield* withStore({ path, compaction: false }, (store) =>
          Effect.gen(function*() {
            const all = yield* allOf(store)
            assert.deepStrictEqual([...all.keys()].sort(), [...expected.keys()].sort(), `round ${round}, cut ${cut}`)
            for (const [token, data] of expected) assert.isTrue(sameBytes(all.get(token), data), token)
            assert.strictEqual(yield* store.logSize, goodEnd)
          })).pipe(Effect.provide(logs.layer))
        assert.strictEqual(NodeFs.statSync(path).size, goodEnd, "the damaged tail is truncated")
        const dropped = cut + garbage.length - goodEnd
        if (dropped > 0) {
          assert.isTrue(
            logs.messages.some((message) => message.includes(`dropped ${dropped} bytes`)),
            `a warning says ${dropped} bytes were dropped: ${JSON.stringify(logs.messages)}`
          )
        } else {
          assert.isFalse(logs.messages.some((message) => message.includes("dropped")))
        }
      }
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect(
    "compaction bound: 100,000 overwrites of 1,000 sessions leave a log within 2x the live data + minSize",
    () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const minSize = 256 * 1024
        const random = prng(7)
        const sizes = Array.from({ length: 100_000 }, () => 200 + Math.floor(random() * 500))
        const last = new Map<string, number>()
        yield* withStore({ path, sync: "never", compaction: { minSize } }, (store) =>
          Effect.gen(function*() {
            let largest = 0
            for (let start = 0; start < 100_000; start += 5_000) {
              yield* Effect.forEach(
                Array.from({ length: 5_000 }, (_, k) => start + k),
                (i) => store.save(`session-${i % 1000}`, filled(sizes[i]!, i), at(HOUR)),
                { concurrency: 16, discard: true }
              )
              largest = Math.max(largest, yield* store.logSize)
            }
            for (let i = 0; i < 100_000; i++) last.set(`session-${i % 1000}`, i)
            const live = yield* store.liveSize
            // a compaction may still be finishing in the background
            let logSize = yield* store.logSize
            for (let i = 0; i < 400 && logSize > 2 * live + minSize; i++) {
              yield* realSleep(5)
              logSize = yield* store.logSize
            }
            assert.isAtMost(logSize, 2 * live + minSize, `log ${logSize} bytes, live ${live}`)
            assert.strictEqual(NodeFs.statSync(path).size, logSize)
            // 100,000 writes of ~450 bytes is ~45 MB: the log never got near it
            // the documented bound: a compaction starts at most at the live data plus the tail the previous one
            // copied (up to max(1 MiB, live)), and the log grows by at most max(1 MiB, live) while it runs
            const growth = Math.max(1024 * 1024, live)
            assert.isAtMost(largest, live + 2 * growth + minSize, `largest log seen: ${largest}`)
          }))
        yield* withStore({ path }, (store) =>
          Effect.gen(function*() {
            assert.strictEqual(yield* store.size, 1000)
            for (const [token, i] of last) {
              assert.isTrue(sameBytes(yield* findBytes(store, token), filled(sizes[i]!, i)))
            }
          }))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)),
    { timeout: 120_000 }
  )

  it.effect("saves and deletes made while a compaction runs are neither blocked nor lost", () =>
    Effect.gen(function*() {
      const faults = makeFaults()
      const path = yield* tempPath
      const expected = new Map<string, Uint8Array>()
      yield* withStore({ path, compaction: false }, (store) =>
        Effect.gen(function*() {
          for (let round = 0; round < 4; round++) {
            for (let i = 0; i < 300; i++) {
              const data = filled(100 + i, round * 1000 + i)
              yield* store.save(`a-${i}`, data, at(HOUR))
              expected.set(`a-${i}`, data)
            }
          }
          const before = yield* store.logSize
          faults.compactionGate = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
          const compaction = yield* Effect.forkChild(store.compact)
          yield* Deferred.await(faults.compactionGate.reached)

          // the compaction has written its snapshot and waits: the store keeps working
          for (let i = 0; i < 200; i++) {
            const data = bytes(`during-${i}`)
            yield* store.save(`b-${i}`, data, at(HOUR))
            expected.set(`b-${i}`, data)
          }
          for (let i = 0; i < 100; i++) {
            const data = bytes(`rewritten-${i}`)
            yield* store.save(`a-${i}`, data, at(HOUR))
            expected.set(`a-${i}`, data)
          }
          for (let i = 100; i < 150; i++) {
            yield* store.delete(`a-${i}`)
            expected.delete(`a-${i}`)
          }
          assert.isTrue(yield* running(compaction), "still compacting")

          yield* Deferred.succeed(faults.compactionGate.release, void 0)
          yield* Fiber.join(compaction)
          const after = yield* store.logSize
          assert.isBelow(after, before / 2)
          assert.strictEqual(NodeFs.statSync(path).size, after)
          const all = yield* allOf(store)
          assert.deepStrictEqual([...all.keys()].sort(), [...expected.keys()].sort())
          for (const [token, data] of expected) assert.isTrue(sameBytes(all.get(token), data), token)
          // and the store goes on appending to the new log
          yield* store.save("c-after", bytes("after"), at(HOUR))
          expected.set("c-after", bytes("after"))
        })).pipe(Effect.provide(faultyFileSystem(faults)))

      assert.isFalse(NodeFs.existsSync(`${path}.compact`))
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          const all = yield* allOf(store)
          assert.deepStrictEqual([...all.keys()].sort(), [...expected.keys()].sort())
          for (const [token, data] of expected) assert.isTrue(sameBytes(all.get(token), data), token)
          // the records written meanwhile were carried over as they were; a new compaction leaves one per session
          yield* store.compact
          assert.strictEqual(yield* store.logSize, yield* store.liveSize)
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("saveIf and touch are in the log: a restart brings back moved expiries, conditional writes and removals", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      const versionOf = (store: FileStore.FileStore, token: string) =>
        Effect.map(store.load(token), (entry) => Option.getOrThrow(entry).version)
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          yield* store.save("touched", bytes("t"), at(10_000))
          assert.isTrue(yield* store.touch("touched", at(HOUR), yield* versionOf(store, "touched")))
          const v = Option.getOrThrow(yield* store.saveIf("created", bytes("c1"), at(HOUR), Option.none()))
          const v2 = Option.getOrThrow(yield* store.saveIf("created", bytes("c2"), at(2 * HOUR), Option.some(v)))
          yield* store.save("removed", bytes("r"), at(HOUR))
          yield* store.saveIf("removed", bytes("x"), at(0), Option.some(yield* versionOf(store, "removed")))
          yield* store.save("touched-away", bytes("r"), at(HOUR))
          assert.isTrue(yield* store.touch("touched-away", at(0), yield* versionOf(store, "touched-away")))
          assert.isTrue(Option.isNone(yield* store.find("touched-away")))

          // conflicts and refused touches write nothing
          const size = yield* store.logSize
          assert.isTrue(Option.isNone(yield* store.saveIf("created", bytes("no"), at(HOUR), Option.none())))
          assert.isTrue(Option.isNone(yield* store.saveIf("created", bytes("no"), at(HOUR), Option.some(v))))
          assert.isFalse(yield* store.touch("created", at(3 * HOUR), v))
          assert.isFalse(yield* store.touch("missing", at(HOUR), v2))
          assert.strictEqual(yield* store.logSize, size)
        }))

      // past the touched entry's first expiry (10 s)
      yield* TestClock.adjust("20 seconds")
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          const touched = Option.getOrThrow(yield* store.load("touched"))
          assert.isTrue(sameBytes(touched.data, bytes("t")))
          assert.strictEqual(DateTime.toEpochMillis(touched.expiry), HOUR)
          const created = Option.getOrThrow(yield* store.load("created"))
          assert.isTrue(sameBytes(created.data, bytes("c2")))
          assert.strictEqual(DateTime.toEpochMillis(created.expiry), 2 * HOUR)
          assert.isTrue(Option.isNone(yield* store.find("removed")))
          assert.isTrue(Option.isNone(yield* store.find("touched-away")))
          assert.strictEqual(yield* store.size, 2)
          // the versions of the reopened store are its own, and work
          assert.notStrictEqual(touched.version, created.version)
          assert.isTrue(yield* store.touch("touched", at(3 * HOUR), touched.version))
          const v3 = yield* store.saveIf("created", bytes("c3"), at(HOUR), Option.some(created.version))
          assert.isTrue(Option.isSome(v3))
          assert.notStrictEqual(Option.getOrThrow(v3), touched.version)
        }))
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          assert.strictEqual(DateTime.toEpochMillis(Option.getOrThrow(yield* store.load("touched")).expiry), 3 * HOUR)
          assert.isTrue(sameBytes(yield* findBytes(store, "created"), bytes("c3")))
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("saveIf and touch made while a compaction runs are decided against the index and not lost", () =>
    Effect.gen(function*() {
      const faults = makeFaults()
      const path = yield* tempPath
      const expected = new Map<string, { data: Uint8Array; expiry: number }>()
      yield* withStore({ path, compaction: false }, (store) =>
        Effect.gen(function*() {
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < 200; i++) {
              const data = filled(100 + i, round * 1000 + i)
              yield* store.save(`a-${i}`, data, at(HOUR))
              expected.set(`a-${i}`, { data, expiry: HOUR })
            }
          }
          faults.compactionGate = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
          const compaction = yield* Effect.forkChild(store.compact)
          yield* Deferred.await(faults.compactionGate.reached)

          // while the compaction waits: half the entries are touched, a quarter rewritten, some removed
          yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
            Effect.gen(function*() {
              const token = `a-${i}`
              const version = Option.getOrThrow(yield* store.load(token)).version
              if (i % 2 === 0) {
                assert.isTrue(yield* store.touch(token, at(2 * HOUR), version))
                expected.set(token, { data: expected.get(token)!.data, expiry: 2 * HOUR })
              } else if (i % 4 === 1) {
                const data = bytes(`rewritten-${i}`)
                assert.isTrue(Option.isSome(yield* store.saveIf(token, data, at(3 * HOUR), Option.some(version))))
                expected.set(token, { data, expiry: 3 * HOUR })
              } else if (i % 8 === 3) {
                assert.isTrue(Option.isSome(yield* store.saveIf(token, bytes("x"), at(0), Option.some(version))))
                expected.delete(token)
              }
              // and a stale version is refused
              assert.isFalse(yield* store.touch(token, at(4 * HOUR), `${version}0`))
            }), { concurrency: 16, discard: true })
          assert.isTrue(yield* running(compaction), "still compacting")
          yield* Deferred.succeed(faults.compactionGate.release, void 0)
          yield* Fiber.join(compaction)
        })).pipe(Effect.provide(faultyFileSystem(faults)))

      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          const all = yield* allOf(store)
          assert.deepStrictEqual([...all.keys()].sort(), [...expected.keys()].sort())
          for (const [token, { data, expiry }] of expected) {
            const entry = Option.getOrThrow(yield* store.load(token))
            assert.isTrue(sameBytes(entry.data, data), token)
            assert.strictEqual(DateTime.toEpochMillis(entry.expiry), expiry, token)
          }
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("writes wait for a running compaction once the log has grown by 1 MiB; closing writes them out", () =>
    Effect.gen(function*() {
      const faults = makeFaults()
      const path = yield* tempPath
      const big = (i: number) => filled(64 * 1024, i)
      const acked: Array<number> = []
      let sequence: Fiber.Fiber<void, Store.SessionStoreError> | undefined
      const extras: Array<Fiber.Fiber<void, Store.SessionStoreError>> = []
      let held = -1
      yield* Effect.scoped(
        Effect.gen(function*() {
          const store = yield* FileStore.make({ path, sync: "never", compaction: false, cleanupInterval: 0 })
          for (let i = 0; i < 100; i++) yield* store.save(`small-${i}`, filled(100, i), at(HOUR))
          const before = yield* store.logSize
          faults.compactionGate = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
          yield* Effect.forkChild(store.compact)
          yield* Deferred.await(faults.compactionGate.reached)
          // 40 x 64 KiB one after another while the compaction waits: the writer appends 1 MiB (more than the
          // live data), then holds the next write back until the compaction has caught up
          sequence = yield* Effect.forkChild(
            Effect.forEach(
              Array.from({ length: 40 }, (_, i) => i),
              (i) => Effect.tap(store.save(`big-${i}`, big(i), at(HOUR)), () => Effect.sync(() => acked.push(i))),
              { discard: true }
            )
          )
          yield* eventually(() => NodeFs.statSync(path).size >= before + 1024 * 1024, "the log grew by 1 MiB")
          yield* realSleep(50)
          held = acked.length
          assert.isBelow(held, 40, "no backpressure: every write went through during the compaction")
          assert.isBelow(NodeFs.statSync(path).size, before + 1024 * 1024 + 2 * 64 * 1024)
          for (let j = 0; j < 5; j++) {
            extras.push(yield* Effect.forkChild(store.save(`extra-${j}`, big(100 + j), at(HOUR))))
          }
          yield* realSleep(20)
          assert.strictEqual(acked.length, held, "a write went through while held back")
          // closing now interrupts the compaction; what the writer holds back is written out, not failed
        })
      ).pipe(Effect.provide(faultyFileSystem(faults)))
      for (const extra of extras) assert.isTrue(Exit.isSuccess(yield* Fiber.await(extra)), "a pending save failed")
      const rest = yield* Fiber.await(sequence!)
      assert.isTrue(acked.includes(held), "the held-back save failed at close")
      // the saves after the close are refused
      assert.isTrue(Exit.isFailure(rest))
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          for (const i of acked) assert.isTrue(sameBytes(yield* findBytes(store, `big-${i}`), big(i)), `big-${i}`)
          for (let j = 0; j < 5; j++) assert.isTrue(sameBytes(yield* findBytes(store, `extra-${j}`), big(100 + j)))
          assert.strictEqual((yield* allOf(store)).size, 100 + acked.length + 5)
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  describe("a missing folder", () => {
    it.effect("is created (with its parents, mode 0700) before the lock is taken; for a link, the target's", () =>
      Effect.gen(function*() {
        const dir = NodePath.dirname(yield* tempPath)
        const path = NodePath.join(dir, ".sessions", "deeper", "sessions.log")
        yield* withStore({ path }, (store) => store.save("t", bytes("x"), at(HOUR)))
        assert.strictEqual(NodeFs.statSync(NodePath.join(dir, ".sessions")).mode & 0o777, 0o700)
        assert.strictEqual(NodeFs.statSync(NodePath.dirname(path)).mode & 0o777, 0o700)
        assert.isTrue(NodeFs.statSync(path).size > 0)
        yield* withStore(
          { path },
          (store) => Effect.map(findBytes(store, "t"), (found) => assert.isTrue(sameBytes(found, bytes("x"))))
        )
        // a link to a log in a folder not created yet: the folder of the real path is created, not one by the link
        const link = NodePath.join(dir, "link.log")
        NodeFs.symlinkSync(NodePath.join(dir, "real", "sessions.log"), link)
        yield* withStore({ path: link }, (store) => store.save("t", bytes("y"), at(HOUR)))
        assert.isTrue(NodeFs.statSync(NodePath.join(dir, "real", "sessions.log")).isFile())
        assert.isTrue(NodeFs.lstatSync(link).isSymbolicLink())
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.effect("that cannot be created fails with Io naming it", () =>
      Effect.gen(function*() {
        const dir = NodePath.dirname(yield* tempPath)
        // a link to nowhere where a folder should be: the folder cannot be created (even by root)
        NodeFs.symlinkSync(NodePath.join(dir, "nowhere", "deeper"), NodePath.join(dir, "dangling"))
        const folder = NodePath.join(dir, "dangling", "sub")
        const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path: NodePath.join(folder, "sessions.log") })))
        assert.strictEqual(error.reason, "Io")
        assert.include(error.message, `cannot create the folder ${folder}`)
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
  })

  describe("lock", () => {
    it.effect("a second store on the same path fails with Locked; after the first is released, it opens", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const scope = yield* Scope.make()
        const first = yield* FileStore.make({ path }).pipe(Scope.provide(scope))
        yield* first.save("t", bytes("x"), at(HOUR))
        const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path })))
        assert.strictEqual(error._tag, "SessionStoreError")
        assert.strictEqual(error.reason, "Locked")
        assert.include(error.message, "locked")
        assert.strictEqual(NodeFs.readFileSync(`${path}.lock`, "utf8").split("\n")[0], String(process.pid))

        yield* Scope.close(scope, Exit.void)
        assert.isFalse(NodeFs.existsSync(`${path}.lock`), "released with the layer")
        yield* withStore(
          { path },
          (store) => Effect.map(findBytes(store, "t"), (found) => assert.isTrue(sameBytes(found, bytes("x"))))
        )
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.live("lockTimeout waits for a live owner to release the lock (a deploy's old process); 0 fails at once", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const holdFor300ms = Effect.gen(function*() {
          const scope = yield* Scope.make()
          yield* FileStore.make({ path }).pipe(Scope.provide(scope))
          return yield* Effect.forkChild(Effect.delay(Scope.close(scope, Exit.void), "300 millis"))
        })
        // default 0: Locked at once
        let releaser = yield* holdFor300ms
        const now = yield* Effect.flip(Effect.scoped(FileStore.make({ path })))
        assert.strictEqual(now.reason, "Locked")
        assert.notInclude(now.message, "waited")
        yield* Fiber.join(releaser)
        // too short a wait: Locked, saying how long it waited
        releaser = yield* holdFor300ms
        const short = yield* Effect.flip(Effect.scoped(FileStore.make({ path, lockTimeout: "200 millis" })))
        assert.strictEqual(short.reason, "Locked")
        assert.include(short.message, "waited 200 ms")
        yield* Fiber.join(releaser)
        // long enough: opens once the owner is gone
        releaser = yield* holdFor300ms
        yield* withStore({ path, lockTimeout: "2 seconds" }, (store) => store.save("t", bytes("x"), at(HOUR)))
        yield* Fiber.join(releaser)
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.effect("the layer fails with Locked too", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const layer = FileStore.layer({ path })
        const error = yield* Effect.flip(
          Effect.scoped(Layer.build(Layer.merge(layer, FileStore.layer({ path }))))
        )
        assert.strictEqual(error.reason, "Locked")
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.effect("a stale lock of a dead process is taken over, and so is a leftover with this process's pid", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const dead = ChildProcess.spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
        const deadPid = Number(dead.stdout.toString())
        for (const pid of [deadPid, process.pid]) {
          NodeFs.writeFileSync(`${path}.lock`, `${pid}\n\nleftover\n`)
          const logs = captureLogs()
          yield* withStore({ path }, (store) =>
            Effect.gen(function*() {
              yield* store.save(`t-${pid}`, bytes("x"), at(HOUR))
              assert.include(NodeFs.readFileSync(`${path}.lock`, "utf8"), String(process.pid))
              assert.notInclude(NodeFs.readFileSync(`${path}.lock`, "utf8"), "leftover")
            })).pipe(Effect.provide(logs.layer))
          assert.isTrue(logs.messages.some((message) => message.includes("stale lock")))
        }
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.effect("another host's lock is respected while its heartbeat is fresh, and taken over once it is old", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        // say, a container recreated under a new host name, or a second container on a shared volume
        NodeFs.writeFileSync(`${path}.lock`, `1\nanother-host\nx\n`)
        const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path })))
        assert.strictEqual(error.reason, "Locked")
        assert.include(error.message, "another-host")
        const twoMinutesAgo = new Date(Date.now() - 120_000)
        NodeFs.utimesSync(`${path}.lock`, twoMinutesAgo, twoMinutesAgo)
        const logs = captureLogs()
        yield* withStore({ path }, (store) => store.save("t", bytes("x"), at(HOUR))).pipe(Effect.provide(logs.layer))
        assert.isTrue(logs.messages.some((message) => message.includes("stale lock")))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.live("the owner refreshes its lock every 10 seconds (wall-clock time)", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        yield* withStore({ path }, () =>
          Effect.gen(function*() {
            const old = new Date(Date.now() - 120_000)
            NodeFs.utimesSync(`${path}.lock`, old, old)
            const age = () => Date.now() - NodeFs.statSync(`${path}.lock`).mtimeMs
            yield* Effect.sleep("9 seconds")
            assert.isAbove(age(), 60_000, "not refreshed before 10 seconds")
            yield* Effect.sleep("1500 millis")
            assert.isBelow(age(), 60_000, "refreshed")
          }))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)), { timeout: 30_000 })

    it.effect("a lock held by another live process is respected, and left in place", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        // the parent of this test worker is alive for the whole test
        const content = `${process.ppid}\n\nsomeone else\n`
        NodeFs.writeFileSync(`${path}.lock`, content)
        const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path })))
        assert.strictEqual(error.reason, "Locked")
        assert.include(error.message, String(process.ppid))
        assert.strictEqual(NodeFs.readFileSync(`${path}.lock`, "utf8"), content)
        assert.isFalse(NodeFs.existsSync(path), "nothing was created")
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
  })

  it.effect("a file that is not a FileStore log is refused with Corrupt, and left untouched", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      const precious = "user,email\nada,ada@example.com\n"
      NodeFs.writeFileSync(path, precious)
      const error = yield* Effect.flip(Effect.scoped(FileStore.make({ path })))
      assert.strictEqual(error.reason, "Corrupt")
      assert.include(error.message, "not a FileStore log")
      assert.strictEqual(NodeFs.readFileSync(path, "utf8"), precious)
      assert.isFalse(NodeFs.existsSync(`${path}.lock`), "the lock is released")

      // a log whose header is damaged is refused too
      yield* withStore({ path: `${path}.2` }, (store) => store.save("t", bytes("x"), at(HOUR)))
      const log = NodeFs.readFileSync(`${path}.2`)
      log[9] = log[9]! ^ 1
      NodeFs.writeFileSync(`${path}.2`, log)
      const damaged = yield* Effect.flip(Effect.scoped(FileStore.make({ path: `${path}.2` })))
      assert.strictEqual(damaged.reason, "Corrupt")
      assert.deepStrictEqual(NodeFs.readFileSync(`${path}.2`), log)

      // an empty file (say, created by hand) is a new, empty log
      NodeFs.writeFileSync(`${path}.3`, "")
      yield* withStore({ path: `${path}.3` }, (store) => store.save("t", bytes("x"), at(HOUR)))
      yield* withStore(
        { path: `${path}.3` },
        (store) => Effect.map(findBytes(store, "t"), (found) => assert.isTrue(sameBytes(found, bytes("x"))))
      )
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  describe("failures", () => {
    it.effect("a failed write is not acknowledged, not visible, not on disk; the store recovers when it clears", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        for (const partial of [false, true]) {
          const faults = makeFaults()
          faults.partialWrites = partial
          const logs = captureLogs()
          NodeFs.rmSync(path, { force: true })
          yield* withStore({ path, sync: "always", compaction: false }, (store) =>
            Effect.gen(function*() {
              yield* store.save("a", bytes("a"), at(HOUR))
              faults.failWrites = true
              // a large record, so that a torn half of it is longer than the next record
              const error = yield* Effect.flip(store.save("b", filled(1000, 1), at(HOUR)))
              assert.strictEqual(error.reason, "Io")
              assert.include(error.message, "ENOSPC")
              const deleteError = yield* Effect.flip(store.delete("a"))
              assert.strictEqual(deleteError.reason, "Io")
              assert.isTrue(Option.isNone(yield* store.find("b")), "a failed save is not visible")
              assert.isTrue(Option.isSome(yield* store.find("a")), "a failed delete deletes nothing")
              faults.failWrites = false
              yield* store.save("c", bytes("c"), at(HOUR))
              assert.strictEqual(NodeFs.statSync(path).size, yield* store.logSize, "no torn bytes left behind")
            })).pipe(Effect.provide(Layer.merge(faultyFileSystem(faults), logs.layer)))
          yield* withStore({ path }, (store) =>
            Effect.gen(function*() {
              const all = yield* allOf(store)
              assert.deepStrictEqual([...all.keys()].sort(), ["a", "c"])
            })).pipe(Effect.provide(logs.layer))
          assert.isFalse(logs.messages.some((message) => message.includes("dropped")), "no torn tail to recover")
        }
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.effect("sync always: a failed fsync fails the save and takes its record back out", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const faults = makeFaults()
        yield* withStore({ path, sync: "always", compaction: false }, (store) =>
          Effect.gen(function*() {
            yield* store.save("a", bytes("a"), at(HOUR))
            const size = yield* store.logSize
            faults.failSyncs = true
            const error = yield* Effect.flip(store.save("b", bytes("b"), at(HOUR)))
            assert.strictEqual(error.reason, "Io")
            assert.isTrue(Option.isNone(yield* store.find("b")))
            assert.strictEqual(NodeFs.statSync(path).size, size)
            faults.failSyncs = false
            yield* store.save("c", bytes("c"), at(HOUR))
          })).pipe(Effect.provide(faultyFileSystem(faults)))
        yield* withStore({ path }, (store) =>
          Effect.map(allOf(store), (all) => assert.deepStrictEqual([...all.keys()].sort(), ["a", "c"])))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
  })

  describe("sync modes", () => {
    it.live("always: a save returns only after its fsync, and concurrent saves share fsyncs (group commit)", () =>
      Effect.gen(function*() {
        const path = yield* tempPath
        const faults = makeFaults()
        yield* withStore({ path, sync: "always" }, (store) =>
          Effect.gen(function*() {
            const gate = yield* Deferred.make<void>()
            faults.syncGate = gate
            const syncsBefore = faults.logSyncs
            const save = yield* Effect.forkChild(store.save("gated", bytes("x"), at(Date.now() + HOUR)))
            yield* eventually(() => faults.logSyncs > syncsBefore, "the fsync starts")
            yield* realSleep(50)
            assert.isTrue(yield* running(save), "not acknowledged before the fsync completes")
            // 200 saves arriving while that fsync is in flight
            const concurrent = yield* Effect.forkChild(Effect.forEach(
              Array.from({ length: 200 }, (_, i) => i),
              (i) => store.save(`t-${i}`, bytes(`v${i}`), at(Date.now() + HOUR)),
              { concurrency: "unbounded", discard: true }
            ))
            yield* realSleep(50)
            assert.isTrue(yield* running(concurrent))
            faults.syncGate = undefined
            yield* Deferred.succeed(gate, void 0)
            yield* Fiber.join(save)
            yield* Fiber.join(concurrent)
            const syncs = faults.logSyncs - syncsBefore
            assert.isAtMost(syncs, 3, `201 saves took ${syncs} fsyncs`)
            assert.strictEqual(yield* store.size, 201)
          })).pipe(Effect.provide(faultyFileSystem(faults)))
      }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

    it.live(
      "everysec: an fsync a second after writes, none while idle; never: only when released",
      () =>
        Effect.gen(function*() {
          const path = yield* tempPath
          const faults = makeFaults()
          const expiry = at(Date.now() + HOUR)
          yield* withStore({ path, sync: "everysec" }, (store) =>
            Effect.gen(function*() {
              const base = faults.logSyncs
              yield* store.save("a", bytes("a"), expiry)
              assert.strictEqual(faults.logSyncs, base, "a save does not wait for an fsync")
              yield* eventually(() => faults.logSyncs === base + 1, "the once-a-second fsync")
              yield* Effect.sleep("2500 millis")
              assert.strictEqual(faults.logSyncs, base + 1, "no fsync without writes")
              yield* store.save("b", bytes("b"), expiry)
              yield* eventually(() => faults.logSyncs === base + 2, "the next fsync")
            })).pipe(Effect.provide(faultyFileSystem(faults)))

          const neverFaults = makeFaults()
          const neverPath = NodePath.join(NodePath.dirname(path), "never-sessions.log")
          yield* withStore({ path: neverPath, sync: "never" }, (store) =>
            Effect.gen(function*() {
              const base = neverFaults.logSyncs
              for (let i = 0; i < 10; i++) yield* store.save(`t-${i}`, bytes("x"), expiry)
              yield* Effect.sleep("1500 millis")
              assert.strictEqual(neverFaults.logSyncs, base)
              return base
            })).pipe(
              Effect.provide(faultyFileSystem(neverFaults)),
              Effect.map((base) => assert.strictEqual(neverFaults.logSyncs, base + 1, "fsynced once, on release"))
            )
        }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)),
      { timeout: 30_000 }
    )
  })

  it.effect("find never touches the disk", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      yield* withStore({ path }, (store) => store.save("t", bytes("x"), at(HOUR)))
      const faults = makeFaults()
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          const reads = faults.logReads
          assert.isAbove(reads, 0, "the log was read when opening")
          for (let i = 0; i < 100; i++) yield* store.find(i % 2 === 0 ? "t" : "unknown")
          yield* Stream.runDrain(store.all)
          assert.strictEqual(faults.logReads, reads)
        })).pipe(Effect.provide(faultyFileSystem(faults)))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("cleanup drops expired sessions from memory and from the live size", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      yield* withStore({ path, cleanupInterval: "1 minute" }, (store) =>
        Effect.gen(function*() {
          for (let i = 0; i < 100; i++) yield* store.save(`short-${i}`, bytes("x"), at(30_000))
          for (let i = 0; i < 10; i++) yield* store.save(`long-${i}`, bytes("x"), at(HOUR))
          const live = yield* store.liveSize
          assert.strictEqual(yield* store.size, 110)
          yield* TestClock.adjust("1 minute")
          yield* eventually(() => Effect.runSync(store.size) === 10, "the sweep")
          assert.isBelow(yield* store.liveSize, live)
          assert.strictEqual(
            yield* store.liveSize,
            HEADER_SIZE + 10 * (RECORD_OVERHEAD + "long-0".length + 1)
          )
        }))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("after release: operations fail as Closed, the lock is gone, no background work is left", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length
      // the test runner has timers of its own, some short-lived: take the fewest seen over a while
      let timersBefore = timers()
      for (let i = 0; i < 10; i++) {
        yield* realSleep(10)
        timersBefore = Math.min(timersBefore, timers())
      }
      const scope = yield* Scope.make()
      const store = yield* FileStore.make({ path, sync: "everysec", cleanupInterval: "1 minute" }).pipe(
        Scope.provide(scope)
      )
      yield* store.save("short", bytes("a"), at(30_000))
      yield* store.save("long", bytes("b"), at(HOUR))
      assert.isAtLeast(timers(), timersBefore + 2, "the fsync and lock heartbeat fibers wait on timers")
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(NodeFs.existsSync(`${path}.lock`))
      yield* eventually(() => timers() <= timersBefore, "no timer is left behind")
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* store.size, 2, "no cleanup fiber is left")
      for (
        const effect of [
          store.find("long"),
          store.save("b", bytes("b"), at(HOUR)),
          store.delete("long"),
          Stream.runDrain(store.all),
          store.compact,
          store.sync,
          store.load("long"),
          store.saveIf("b", bytes("b"), at(HOUR), Option.none()),
          store.touch("long", at(HOUR), "1")
        ] as const
      ) {
        const error = yield* Effect.flip(effect as Effect.Effect<unknown, Store.SessionStoreError>)
        assert.strictEqual(error.reason, "Closed")
      }
      // and everything acknowledged is in the file
      yield* withStore(
        { path },
        (reopened) => Effect.map(findBytes(reopened, "long"), (found) => assert.isTrue(sameBytes(found, bytes("b"))))
      )
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("invalid input and options fail with typed InvalidInput errors", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      yield* withStore({ path }, (store) =>
        Effect.gen(function*() {
          const long = yield* Effect.flip(store.save("x".repeat(FileStore.maxTokenBytes + 1), bytes("x"), at(HOUR)))
          assert.strictEqual(long.reason, "InvalidInput")
          assert.include(long.message, "token")
          const lone = yield* Effect.flip(store.save("bad\uD800token", bytes("x"), at(HOUR)))
          assert.strictEqual(lone.reason, "InvalidInput")
          yield* store.save("emoji-😀-ok", bytes("x"), at(HOUR))
          const big = yield* Effect.flip(
            store.save("big", new Uint8Array(FileStore.maxDataBytes + 1), at(HOUR))
          )
          assert.strictEqual(big.reason, "InvalidInput")
          assert.include(big.message, "limit")
          // saveIf checks its input as save does, before its condition
          for (
            const [token, data] of [
              ["x".repeat(FileStore.maxTokenBytes + 1), bytes("x")],
              ["bad\uD800token", bytes("x")],
              ["big", { length: FileStore.maxDataBytes + 1 } as Uint8Array]
            ] as const
          ) {
            const error = yield* Effect.flip(store.saveIf(token, data, at(HOUR), Option.none()))
            assert.strictEqual(error.reason, "InvalidInput")
            assert.strictEqual(error.method, "saveIf")
          }
          // deleting an unknown token, even one that could not be saved, succeeds and writes nothing
          const size = yield* store.logSize
          yield* store.delete("x".repeat(FileStore.maxTokenBytes + 1))
          yield* store.delete("never-saved")
          assert.strictEqual(yield* store.logSize, size)
        }))
      yield* withStore({ path }, (store) =>
        Effect.map(findBytes(store, "emoji-😀-ok"), (found) => assert.isTrue(sameBytes(found, bytes("x")))))

      const bad: Array<FileStore.FileStoreOptions> = [
        { path: "" },
        { path, sync: "sometimes" as any },
        { path, cleanupInterval: "soon" as any },
        { path, compaction: { minSize: -1 } }
      ]
      for (const options of bad) {
        const error = yield* Effect.flip(Effect.scoped(FileStore.make(options)))
        assert.strictEqual(error.reason, "InvalidInput")
      }
      // a missing folder is created (see "a missing folder"); one that cannot exist (its parent is a regular
      // file) is a typed Io error
      const notAFolder = path + ".file"
      NodeFs.writeFileSync(notAFolder, "x")
      const missing = yield* Effect.flip(
        Effect.scoped(FileStore.make({ path: NodePath.join(notAFolder, "dir.log") }))
      )
      assert.strictEqual(missing.reason, "Io")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("the layer provides both SessionStore and FileStore", () =>
    Effect.gen(function*() {
      const path = yield* tempPath
      yield* Effect.gen(function*() {
        yield* Store.save("t", bytes("x"), at(HOUR))
        const fileStore = yield* FileStore.FileStore
        assert.strictEqual(yield* fileStore.size, 1)
        assert.isTrue(sameBytes(Option.getOrUndefined(yield* Store.find("t")), bytes("x")))
      }).pipe(Effect.provide(FileStore.layer({ path })))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
