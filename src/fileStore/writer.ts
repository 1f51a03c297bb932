/**
 * Group commit: one writer fiber appends every record. Saves and deletes queue up while it writes (and, with
 * `sync: "always"`, fsyncs) a batch; the next batch takes all of them at once. What goes into a batch is planned by
 * `core/fileBatch.ts`.
 *
 * A write is acknowledged once its record is in the log (fsynced, with `"always"`), and only then applied to the
 * index; a batch that fails is taken back out of the log and fails each of its writes. A conditional write
 * (`saveIf`, `touch`) is decided when its batch is planned, against the index, which then holds every write
 * acknowledged before it (see `planBatch`); one that conflicts is answered at once, with nothing written.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type PendingWrite, planBatch } from "../core/fileBatch.js"
import type { FileIndex } from "../core/fileIndex.js"
import type * as Store from "../Store.js"
import { closed, ioError, unexpected } from "./errors.js"
import type { LogFile } from "./logFile.js"

/** A queued write: resumed with its outcome, its `version` (`CONFLICT`: its condition did not hold). @internal */
export type PendingOp = PendingWrite<(outcome: Effect.Effect<number, Store.SessionStoreError>) => void>

/** @internal */
export interface Writer {
  /**
   * Queues `op` and waits until it is written (or fails, or its condition does not hold), answering its `version`.
   * Interrupted while still queued, it is never written.
   */
  readonly submit: (op: PendingOp) => Effect.Effect<number, Store.SessionStoreError>
  /** Wakes the writer up (to notice that the store is closing). */
  readonly wake: () => void
  /** The writer fiber's work: runs until the store is closed and nothing is pending; fails what is left then. */
  readonly run: Effect.Effect<void>
}

/** @internal */
export interface WriterOptions {
  /** Fsync each batch before acknowledging it (`sync: "always"`). */
  readonly fsync: boolean
  /** Runs before each batch is taken off the queue (backpressure). */
  readonly beforeBatch: Effect.Effect<void>
  /** Runs after each batch is written and acknowledged. */
  readonly afterBatch: Effect.Effect<void>
}

/** Completes a queued operation (once: later calls do nothing). */
const settle = (op: PendingOp, outcome: Effect.Effect<number, Store.SessionStoreError>) => {
  const resume = op.resume
  op.resume = undefined
  if (resume !== undefined) resume(outcome)
}

/** @internal */
export const make = (log: LogFile, index: FileIndex, options: WriterOptions): Effect.Effect<Writer> =>
  Effect.map(Effect.makeLatch(false), (wakeUp): Writer => {
    let pending: Array<PendingOp> = []
    const held = (token: string) => index.entries.peek(token)
    const nextVersion = () => index.versions.next()

    const submit = (op: PendingOp): Effect.Effect<number, Store.SessionStoreError> =>
      Effect.async<number, Store.SessionStoreError>((resume) => {
        if (log.closed) {
          resume(Effect.fail(closed(op.method)))
          return
        }
        op.resume = resume
        pending.push(op)
        wakeUp.unsafeOpen()
        // interrupted while still queued: never written
        return Effect.sync(() => {
          op.cancelled = true
        })
      })

    const writeBatch = (ops: ReadonlyArray<PendingOp>): Effect.Effect<void> =>
      Effect.suspend(() => {
        const plan = planBatch(ops, held, log.secret, nextVersion)
        if (plan.deferred.length > 0) {
          // first in the next batch, before anything queued since
          pending = plan.deferred.concat(pending)
          wakeUp.unsafeOpen()
        }
        for (const op of plan.noops) settle(op, Effect.succeed(op.version))
        if (plan.included.length === 0) return Effect.void
        return log.append(plan.records, plan.bytes, options.fsync, () => index.apply(plan.included)).pipe(
          Effect.matchCauseEffect({
            onSuccess: () =>
              Effect.suspend(() => {
                for (const op of plan.included) settle(op, Effect.succeed(op.version))
                return options.afterBatch
              }),
            onFailure: (cause) =>
              Effect.sync(() => {
                const failure = Option.getOrUndefined(Cause.failureOption(cause))
                for (const op of plan.included) {
                  settle(
                    op,
                    Effect.fail(
                      failure !== undefined
                        ? ioError(op.method, "cannot append to the log")(failure)
                        : unexpected(op.method, cause)
                    )
                  )
                }
              })
          })
        )
      })

    const run = Effect.gen(function*() {
      for (;;) {
        yield* wakeUp.await
        if (pending.length === 0) {
          if (log.closed) return
          wakeUp.unsafeClose()
          continue
        }
        yield* log.turn
        yield* options.beforeBatch
        const ops = pending
        pending = []
        // a safety net: whatever happens, no caller is left waiting
        yield* Effect.catchAllCause(writeBatch(ops), (cause) =>
          Effect.sync(() => {
            for (const op of ops) {
              // and a deferred one is never written after its caller was told it failed
              op.cancelled = true
              settle(op, Effect.fail(unexpected(op.method, cause)))
            }
          }))
      }
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        const left = pending
        pending = []
        for (const op of left) settle(op, Effect.fail(closed(op.method)))
      }))
    )

    return { submit, wake: () => wakeUp.unsafeOpen(), run }
  })
