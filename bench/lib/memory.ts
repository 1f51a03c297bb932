/**
 * The measurements of section 3 that do not depend on the store or the Effect line (both lines' children use them):
 * the resident memory a filled store takes, and the longest event-loop stall while it sweeps expired sessions.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

export interface MemoryInput {
  readonly subject: "MemStore" | "memorystore"
  readonly sessions: number
}

export interface MemoryOutput {
  readonly rssPerSession: number
  readonly heapPerSession: number
  readonly externalPerSession: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly fillMs: number
}

export interface SweepInput {
  readonly subject: "MemStore" | "memorystore"
  readonly sessions: number
  /** How long to keep watching once the store is empty (the garbage collections that follow). */
  readonly watchMs: number
}

export interface SweepOutput {
  /** The longest stall, milliseconds. */
  readonly maxStallMs: number
  readonly p99StallMs: number
  /** From the moment the sessions expired (or prune was called) until the store was empty. */
  readonly sweepMs: number
}

export const HOUR_MS = 60 * 60 * 1000

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Full GCs until the heap settles, then the process' memory (the process runs with `--expose-gc`). */
export const settle = async (): Promise<NodeJS.MemoryUsage> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run with --expose-gc")
  for (let i = 0; i < 4; i++) {
    gc()
    await sleep(50)
  }
  return process.memoryUsage()
}

/** A store to fill with `sessions` live sessions. */
export interface Filled {
  readonly fill: (sessions: number) => Promise<void>
  readonly size: () => Promise<number>
  readonly close: () => Promise<void>
}

/** RSS after full GCs once the store is filled, minus RSS after full GCs before, per session. */
export const measureMemory = async (name: string, sessions: number, store: Filled): Promise<MemoryOutput> => {
  const before = await settle()
  const t0 = performance.now()
  await store.fill(sessions)
  const fillMs = performance.now() - t0
  const after = await settle()
  const count = await store.size()
  if (count !== sessions) throw new Error(`${name} holds ${count} sessions, expected ${sessions}`)
  await store.close()
  return {
    rssPerSession: (after.rss - before.rss) / sessions,
    heapPerSession: (after.heapUsed - before.heapUsed) / sessions,
    externalPerSession: (after.external - before.external) / sessions,
    rssBefore: before.rss,
    rssAfter: after.rss,
    fillMs
  }
}

/**
 * A full GC once the store is filled, then a pause: V8 finishes sweeping the pages of that (forced) collection
 * concurrently and on the main thread, which is the benchmark's own doing and not part of what is measured.
 */
export const settleAfterFill = async () => {
  ;(globalThis as { gc?: () => void }).gc?.()
  await sleep(1000)
}

/**
 * The stall of a background sweep: watches the event loop from `expire()` (which makes every session expired)
 * until `size()` is 0, and `watchMs` more (the garbage collections that follow).
 */
export const watchSweep = async (
  expire: () => void,
  size: () => Promise<number>,
  watchMs: number
): Promise<SweepOutput> => {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  expire()
  const t0 = performance.now()
  while ((await size()) > 0) await sleep(20)
  const sweepMs = performance.now() - t0
  // the garbage of the swept entries is collected after the sweep: keep watching for a while
  await sleep(watchMs)
  histogram.disable()
  return { maxStallMs: histogram.max / 1e6, p99StallMs: histogram.percentile(99) / 1e6, sweepMs }
}
