/**
 * Compaction: the log is rewritten with only the live sessions, in the background, then renamed over the old one.
 * Saves and deletes keep working meanwhile: the records they append are copied after the snapshot, the last of
 * them with the writer held off for the swap. The policy (when, how far the log may grow meanwhile) and the bytes
 * written are in `core/fileCompaction.ts`.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { WRITE_CHUNK } from "../core/fileBatch.js"
import * as Policy from "../core/fileCompaction.js"
import type { FileIndex } from "../core/fileIndex.js"
import type { LogPaths } from "../core/filePaths.js"
import * as Store from "../Store.js"
import { closed, io, orIo } from "./errors.js"
import { closeHandle, createPrivate, type LogFile } from "./logFile.js"
import { copyRange } from "./open.js"

/** @internal */
export interface Compactor {
  /** Starts a compaction in the background if the policy says so (after each batch, and at open). */
  readonly maybeCompact: Effect.Effect<void>
  /** Compacts now and waits (after the running one, if any). */
  readonly compact: Effect.Effect<void, Store.SessionStoreError>
  /** Before each batch: waits for a running compaction once the log has grown past its bound. */
  readonly backpressure: Effect.Effect<void>
  /** At release: stops a running compaction (it does not swap in once the store is closed). */
  readonly stop: Effect.Effect<void>
}

interface Running {
  readonly done: Deferred.Deferred<void, Store.SessionStoreError>
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /** The log may grow up to this size while the compaction runs; beyond it the writer waits. */
  readonly growUntil: number
}

/** @internal */
export const make = (
  fs: FileSystem.FileSystem,
  paths: LogPaths,
  log: LogFile,
  index: FileIndex,
  policy: Policy.CompactionPolicy
): Compactor => {
  const path = paths.log
  const tmpPath = paths.compact
  let running: Running | undefined
  /** After a failed compaction, the log size below which no automatic one is tried again. */
  let retryAt = 0
  /** The bytes the last compaction copied from the tail (written while it ran). */
  let tailCopied = 0

  const run = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    // The snapshot: the entries in the index and the end of the log, at the same moment. Every change made after
    // it also has its record in the tail [snapshotEnd, log.end), copied after them.
    const entries = Array.from(index.entries.values())
    const snapshotEnd = log.end
    tailCopied = 0
    // a rewrite from memory (the log was truncated or replaced) installs another file: this compaction then stops
    const generation = log.generation
    const superseded = () => log.generation !== generation

    const target = yield* fs.remove(tmpPath, { force: true }).pipe(
      Effect.zipRight(createPrivate(fs, tmpPath)),
      orIo("compact", `cannot create ${tmpPath}`)
    )
    let swapped = false
    yield* Effect.gen(function*() {
      const file = target.file
      let written = 0
      for (const chunk of Policy.snapshotChunks(entries, now, index, WRITE_CHUNK, log.secret)) {
        yield* file.writeAll(chunk)
        written += chunk.length
      }
      yield* file.sync

      // what was appended meanwhile: copy it without blocking the writer while there is much of it
      const source = yield* fs.open(path, { flag: "r" })
      let copied = snapshotEnd
      while (!superseded() && Policy.copyWithoutLock(log.end, copied)) {
        const to = log.end
        yield* copyRange(source, file, copied, to, "compact")
        written += to - copied
        tailCopied += to - copied
        copied = to
      }

      // the swap: with the writer held, copy the rest, fsync, rename over the log, and switch files
      yield* log.exclusive(Effect.gen(function*() {
        if (log.closed) return yield* Effect.fail(closed("compact"))
        if (superseded()) return
        const to = log.end
        if (to > copied) {
          yield* copyRange(source, file, copied, to, "compact")
          written += to - copied
          tailCopied += to - copied
        }
        yield* file.sync
        yield* fs.rename(tmpPath, path)
        swapped = true
        retryAt = 0
        yield* log.swap(target, written)
      }))
    }).pipe(
      Effect.scoped,
      orIo("compact", "compaction failed"),
      // the log was rewritten from memory meanwhile: this compaction has nothing left to do
      Effect.catchAll((error) => superseded() ? Effect.void : Effect.fail(error)),
      Effect.onExit(() =>
        swapped ? Effect.void : Effect.zipRight(closeHandle(target), Effect.ignore(fs.remove(tmpPath, { force: true })))
      )
    )
  })

  /** Starts a compaction in the background (or returns the one running). */
  const start: Effect.Effect<Running> = Effect.suspend(() => {
    if (running !== undefined) return Effect.succeed(running)
    const current: Running = {
      done: Deferred.unsafeMake<void, Store.SessionStoreError>(FiberId.none),
      fiber: undefined,
      growUntil: Policy.growLimit(log.end, index.liveSize)
    }
    running = current
    const background = run.pipe(
      Effect.catchAllDefect((defect) => Effect.fail(io("compact", "compaction failed", defect))),
      Effect.tapError((error) =>
        Effect.suspend(() => {
          if (error.reason === "Closed") return Effect.void
          retryAt = Policy.retryAfterFailure(log.end)
          return Effect.logWarning("FileStore: compaction failed; the log is left as it was", error)
        })
      ),
      Effect.exit,
      Effect.flatMap((exit) =>
        Effect.suspend(() => {
          if (running === current) running = undefined
          // the writes made while it ran (the tail it copied) may leave the log at twice the live data again:
          // check once more now, rather than at the next write, which may never come (a compaction that copied no
          // tail leaves nothing to gain: no second one)
          const settled = Deferred.done(current.done, exit)
          return exit._tag === "Success" && tailCopied > 0 ? Effect.zipRight(settled, maybeCompact) : settled
        })
      ),
      Effect.onInterrupt(() => Deferred.interrupt(current.done)),
      Effect.ensuring(Effect.sync(() => {
        if (running === current) running = undefined
      })),
      Effect.asVoid
    )
    // a daemon, not a child of the layer scope: a fiber forked into a scope that is closing would be interrupted
    // before it starts, leaving `done` unsettled; `stop` interrupts this one explicitly
    return Effect.map(Effect.forkDaemon(background), (fiber) => {
      current.fiber = fiber
      return current
    })
  })

  const maybeCompact: Effect.Effect<void> = Effect.suspend(() =>
    !log.closed && running === undefined && Policy.shouldCompact(policy, log.end, index.liveSize, retryAt)
      ? Effect.asVoid(start)
      : Effect.void
  )

  const compact: Effect.Effect<void, Store.SessionStoreError> = Effect.suspend(() => {
    if (log.closed) return Effect.fail(closed("compact"))
    const waitRunning = running === undefined ? Effect.void : Effect.ignore(Deferred.await(running.done))
    return waitRunning.pipe(
      Effect.zipRight(Effect.suspend(() => log.closed ? Effect.fail(closed("compact")) : start)),
      Effect.flatMap((started) => Deferred.await(started.done)),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.fail(closed("compact")) : Effect.failCause(cause)
      )
    )
  }).pipe(Effect.withSpan("FileStore.compact"))

  const backpressure: Effect.Effect<void> = Effect.suspend(() => {
    const current = running
    // whatever the outcome, interruption included (closing interrupts the compaction): the writer goes on, and a
    // close still writes out what is pending
    return current !== undefined && log.end >= current.growUntil
      ? Effect.asVoid(Effect.exit(Deferred.await(current.done)))
      : Effect.void
  })

  const stop: Effect.Effect<void> = Effect.suspend(() => {
    const current = running
    if (current === undefined) return Effect.void
    if (current.fiber !== undefined) {
      // a fiber interrupted before it started runs none of its handlers: settle its outcome here
      return Effect.zipRight(Fiber.interrupt(current.fiber), Deferred.fail(current.done, closed("compact")))
    }
    // not forked yet: it will stop at the swap, which it does not perform once the store is closed
    return Effect.exit(Deferred.await(current.done))
  }).pipe(Effect.asVoid)

  return { maybeCompact, compact, backpressure, stop }
}
