/**
 * A store keeping the contract (load / saveIf / touch / delete with versions), in a map: what the core's command
 * generators run against in the core tests. The engines themselves are tested against the same contract by the
 * conformance suite (src/testing/conformance.ts).
 */
import * as Codec from "../../src/core/codec.js"
import type { Answer, Command } from "../../src/core/commit.js"
import type { Entry } from "../../src/core/sessionState.js"

const NOW = 1_000_000

/** A store keeping the contract, in a map: what the generator's commands run against. */
export class ModelStore {
  readonly entries = new Map<string, Entry>()
  private counter = 0
  readonly log: Array<Command["_tag"]> = []

  load(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key)
    return entry !== undefined && entry.expiry > now ? entry : undefined
  }
  save(key: string, data: Uint8Array, expiry: number): string {
    const version = `v${++this.counter}`
    this.entries.set(key, { data, version, expiry })
    return version
  }
  run(command: Command, now: number): Answer {
    this.log.push(command._tag)
    switch (command._tag) {
      case "Load":
        return this.load(command.key, now)
      case "SaveIf": {
        const current = this.load(command.key, now)
        if (command.expected === undefined ? current !== undefined : current?.version !== command.expected) {
          return undefined
        }
        return this.save(command.key, command.data, command.expiry)
      }
      case "Touch": {
        const current = this.load(command.key, now)
        if (current?.version !== command.expected) return false
        this.entries.set(command.key, { ...current, expiry: command.expiry })
        return true
      }
      case "Delete":
        this.entries.delete(command.key)
        return undefined
      case "Backoff":
        return undefined
    }
  }
  /** The values of the session under `key`, or `undefined`. */
  values(key: string, now = NOW): Record<string, unknown> | undefined {
    const entry = this.load(key, now)
    if (entry === undefined) return undefined
    const decoded = Codec.decode(entry.data)
    return decoded._tag === "Ok" ? { ...decoded.record.values } : undefined
  }
  /** The store keys of live sessions (markers excluded). */
  sessions(): Array<string> {
    return [...this.entries.keys()].filter((key) => this.values(key) !== undefined)
  }
}

/** Runs a generator of store commands to its end against `store`. */
export const runSteps = <A>(store: ModelStore, steps: Generator<Command, A, Answer>, now = NOW): A => {
  let answer: Answer = undefined
  for (;;) {
    const step = steps.next(answer)
    if (step.done) return step.value
    answer = store.run(step.value, now)
  }
}
