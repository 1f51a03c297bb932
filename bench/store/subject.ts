/**
 * What a store-level subject is, and helpers every line's subjects share. Imports no Effect: the Effect 4 line's
 * subjects (`packages/effect4/bench/store/subjects.ts`, on Node 22) use it too.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import type { Limit, RunResult } from "../lib/drivers.js"
import type { Workload } from "../lib/workload.js"

export interface Instance {
  readonly run: (concurrency: number, limit: Limit) => Promise<RunResult>
  readonly close: () => Promise<void>
}

export interface Subject {
  readonly name: string
  /** Opens the subject and preloads the workload's sessions. */
  readonly open: (workload: Workload) => Promise<Instance>
}

export const PRELOAD_CONCURRENCY = 64

export const missError = (name: string, misses: number) =>
  new Error(`${name}: ${misses} reads did not find their session (the benchmark would measure misses)`)

/** Wraps a subject so that it gets a fresh temporary folder when opened, removed when closed. */
export const inTempDir = (name: string, make: (dir: string) => Subject): Subject => ({
  name,
  open: async (w) => {
    const dir = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-"))
    try {
      const instance = await make(dir).open(w)
      return {
        run: instance.run,
        close: async () => {
          try {
            await instance.close()
          } finally {
            await rm(dir, { recursive: true, force: true })
          }
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true })
      throw error
    }
  }
})
