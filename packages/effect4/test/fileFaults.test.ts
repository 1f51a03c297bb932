/**
 * FileStore on a failing disk: writes cut short with ENOSPC, fsync failing with EIO. Typed errors, no crash,
 * nothing acknowledged that was not written, and the store works again when the fault clears.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FileStore from "../src/FileStore.js"
import type * as Store from "../src/Store.js"
import * as FaultyFs from "./helpers/faultyFs.js"

const tempLog = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-session-faults-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "sessions.log")))

const payload = (i: number, size = 1000) => new Uint8Array(size).fill(i & 0xff)
const expiry = DateTime.makeUnsafe(Date.UTC(2100, 0, 1))

const expectIoError = <A>(exit: Exit.Exit<A, Store.SessionStoreError>) => {
  assert.isTrue(Exit.isFailure(exit), "the write was acknowledged although the disk failed")
  if (Exit.isFailure(exit)) {
    const failure = Cause.hasDies(exit.cause) ? undefined : Option.getOrUndefined(Cause.findErrorOption(exit.cause))
    assert.isDefined(failure, `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
    assert.strictEqual(failure!._tag, "SessionStoreError")
  }
}

/** Reopens the log on the healthy file system and returns what it holds. */
const reopen = (path: string, tokens: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* FileStore.make({ path, cleanupInterval: 0 })
    const found = new Map<string, Uint8Array>()
    for (const token of tokens) {
      const value = yield* store.find(token)
      if (Option.isSome(value)) found.set(token, value.value)
    }
    return found
  }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))

describe("FileStore on a failing disk", () => {
  for (const sync of ["always", "everysec"] as const) {
    it.live(
      `disk full (ENOSPC mid-record), sync "${sync}": typed errors, nothing lost, recovers`,
      () =>
        Effect.gen(function*() {
          const path = yield* tempLog
          const faults = FaultyFs.makeFaults()
          const acknowledged = new Map<string, Uint8Array>()
          const attempted: Array<string> = []
          yield* Effect.scoped(
            Effect.gen(function*() {
              const store = yield* FileStore.make({ path, sync, cleanupInterval: 0, compaction: false })
              for (let i = 0; i < 50; i++) {
                yield* store.save(`ok-${i}`, payload(i), expiry)
                acknowledged.set(`ok-${i}`, payload(i))
              }
              // the disk fills up in the middle of the next record
              faults.writeBudget = 1500
              let failures = 0
              for (let i = 0; i < 10; i++) {
                const token = `full-${i}`
                attempted.push(token)
                const exit = yield* Effect.exit(store.save(token, payload(100 + i), expiry))
                if (Exit.isSuccess(exit)) acknowledged.set(token, payload(100 + i))
                else {
                  failures++
                  expectIoError(exit)
                  // a write that failed is not visible either
                  assert.isTrue(Option.isNone(yield* store.find(token)), `${token} is readable though its write failed`)
                }
              }
              assert.isAtLeast(failures, 8, "writes went on succeeding on a full disk")
              // an overwrite that fails keeps the previous value
              const overwrite = yield* Effect.exit(store.save("ok-1", payload(222), expiry))
              expectIoError(overwrite)
              assert.deepStrictEqual(Option.getOrThrow(yield* store.find("ok-1")), payload(1))
              // reads keep working while the disk is full
              assert.deepStrictEqual(Option.getOrThrow(yield* store.find("ok-7")), payload(7))

              // space is freed: the same store works again
              faults.writeBudget = undefined
              for (let i = 0; i < 20; i++) {
                yield* store.save(`after-${i}`, payload(200 + i), expiry)
                acknowledged.set(`after-${i}`, payload(200 + i))
              }
              yield* store.delete("ok-0")
              acknowledged.delete("ok-0")
            }).pipe(Effect.provide(FaultyFs.layer(faults)))
          )

          const found = yield* reopen(path, [...acknowledged.keys(), ...attempted, "ok-0"])
          for (const [token, value] of acknowledged) {
            assert.deepStrictEqual(found.get(token), value, `${token} was acknowledged but is not in the log`)
          }
          assert.isFalse(found.has("ok-0"), "a deleted session came back")
          for (const token of attempted) {
            if (!acknowledged.has(token)) assert.isFalse(found.has(token), `${token} failed but was stored`)
          }
        }),
      { timeout: 60_000 }
    )
  }

  it.live(
    "fsync failing with EIO under sync \"always\": the save fails typed, and succeeds again later",
    () =>
      Effect.gen(function*() {
        const path = yield* tempLog
        const faults = FaultyFs.makeFaults()
        yield* Effect.scoped(
          Effect.gen(function*() {
            const store = yield* FileStore.make({ path, sync: "always", cleanupInterval: 0 })
            yield* store.save("before", payload(1), expiry)
            faults.failSync = true
            expectIoError(yield* Effect.exit(store.save("during", payload(2), expiry)))
            faults.failSync = false
            yield* store.save("after", payload(3), expiry)
            assert.deepStrictEqual(Option.getOrThrow(yield* store.find("after")), payload(3))
            assert.deepStrictEqual(Option.getOrThrow(yield* store.find("before")), payload(1))
          }).pipe(Effect.provide(FaultyFs.layer(faults)))
        )
        const found = yield* reopen(path, ["before", "after"])
        assert.deepStrictEqual(found.get("before"), payload(1))
        assert.deepStrictEqual(found.get("after"), payload(3))
      }),
    { timeout: 60_000 }
  )
})
