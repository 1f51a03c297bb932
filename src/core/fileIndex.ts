/**
 * FileStore's in-memory state: the index of every session, and the bytes their records take, which is what the log
 * would hold right after a compaction (and so what decides when to compact).
 *
 * @internal
 */
import type { PendingWrite } from "./fileBatch.js"
import * as Log from "./fileLog.js"
import { type IndexEntry, MemoryIndex, VersionCounter } from "./memoryIndex.js"

/** The bytes of the record that holds `entry`. @internal */
export const entrySize = (entry: IndexEntry): number =>
  Log.recordSize(Buffer.byteLength(entry.token, "utf8"), entry.data.length)

/** @internal */
export class FileIndex {
  readonly entries = new MemoryIndex()
  /**
   * The versions of this open store: each put planned (or replayed at open) takes the next one. They are not in the
   * log: after a restart every entry has a new version, which no caller can hold from before.
   */
  readonly versions = new VersionCounter()
  /** The bytes of the records of the entries (what a compaction would write, header aside). */
  liveBytes = 0

  /** How many entries are held, expired or not. */
  get size(): number {
    return this.entries.size
  }

  /** The size the log would have right after a compaction. */
  get liveSize(): number {
    return Log.HEADER_SIZE + this.liveBytes
  }

  /** Accounts for an entry removed from `entries` (a bound function: a sweep's `onRemove`). */
  readonly dropped = (entry: IndexEntry): void => {
    this.liveBytes -= entrySize(entry)
  }

  /** Tokens forgotten during the replay (damage followed them): counted by `recount`, then released. */
  private forgottenTokens: Set<string> | undefined = undefined
  /** After `recount`: how many sessions the replay forgot for damage after them and did not find again. */
  forgotten = 0

  /**
   * A sink for the records replayed at open, live at `now`: puts that already expired delete, like deletes. Small
   * data is packed into shared slabs (see `SlabCopier`). Call `recount` when the replay is over.
   */
  replaySink(now: number): Log.ScanSink {
    const entries = this.entries
    const versions = this.versions
    const copier = new Log.SlabCopier()
    return {
      put(token, expiresAt, buffer, dataStart, dataEnd) {
        if (expiresAt <= now) entries.delete(token)
        else entries.set(token, copier.copy(buffer, dataStart, dataEnd), expiresAt, versions.next())
      },
      delete(token) {
        entries.delete(token)
      },
      forget: () => {
        const forgotten = this.forgottenTokens ??= new Set()
        for (const entry of entries.values()) forgotten.add(entry.token)
        entries.clear()
      }
    }
  }

  /** Sums the live bytes from scratch, and counts the sessions forgotten for good (after a replay). */
  recount(): void {
    this.liveBytes = 0
    for (const entry of this.entries.values()) this.liveBytes += entrySize(entry)
    this.forgotten = 0
    for (const token of this.forgottenTokens ?? []) if (!this.entries.has(token)) this.forgotten++
    this.forgottenTokens = undefined
  }

  /**
   * Applies writes whose records are in the log (each put has its record and data, and the version the planner
   * gave it; one applied without a plan takes the next version).
   */
  apply(writes: Iterable<PendingWrite>): void {
    for (const write of writes) {
      const existing = this.entries.peek(write.token)
      if (existing !== undefined) this.dropped(existing)
      if (write.op === Log.OP_PUT) {
        if (write.version <= 0) write.version = this.versions.next()
        this.entries.set(write.token, write.data!, write.expiresAt, write.version)
        this.liveBytes += write.record!.length
      } else if (existing !== undefined) {
        this.entries.delete(write.token)
      }
    }
  }

  has(token: string): boolean {
    return this.entries.has(token)
  }

  /** A copy of the data of `token` if it is live at `now`; an expired entry is removed on the way. */
  find(token: string, now: number): Uint8Array | undefined {
    const entry = this.entries.peek(token)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(token)
      this.dropped(entry)
      return undefined
    }
    return entry.data.slice()
  }

  /**
   * The entry of `token` if it is live at `now` (its data is the index's own: copy it before handing it out); an
   * expired entry is removed on the way.
   */
  live(token: string, now: number): IndexEntry | undefined {
    const entry = this.entries.peek(token)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(token)
      this.dropped(entry)
      return undefined
    }
    return entry
  }

  /** Removes `entry` if it is still the one held for its token (a compaction found it expired). */
  removeIfCurrent(entry: IndexEntry): void {
    if (this.entries.peek(entry.token) === entry) {
      this.entries.delete(entry.token)
      this.dropped(entry)
    }
  }
}
