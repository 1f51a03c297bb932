/**
 * The in-memory index behind MemStore (and FileStore's read path): a map from token to entry plus an
 * expiry-ordered heap, so that expiry checks are O(1) and sweeps cost in proportion to what expired.
 *
 * The map is split into `SHARDS` `Map`s by a hash of the token. A `Map` rehashes all its entries at once when it
 * grows past its capacity or shrinks below a quarter of it: with a million sessions in one `Map`, a single
 * `set` or `delete` (a sweep deleting expired sessions, a burst of logins) blocked the event loop for about
 * 100 ms. Split, each rehash moves at most a few thousand entries.
 *
 * @internal
 */
import { ExpiryHeap, type HeapEntry } from "./expiryHeap.js"

/** @internal */
export interface IndexEntry<D = Uint8Array> extends HeapEntry {
  readonly token: string
  data: D
  /**
   * The version of the entry's content: a value of its store's counter (`VersionCounter`), given by every write
   * that changes the bytes and kept by a change of the expiry alone. Exposed as `formatVersion(version)`.
   */
  version: number
}

/**
 * The versions of one store: 1, 2, 3, ... in the order of the writes. A version is never given twice while the
 * store is open, so an entry never holds again a version it held before (what `saveIf` and `touch` rely on).
 *
 * @internal
 */
export class VersionCounter {
  private last = 0
  next(): number {
    return ++this.last
  }
}

/** A version as the store contract shows it: base 36 (`"1"`, `"a"`, `"2s"`, ...). @internal */
export const formatVersion = (version: number): string => version.toString(36)

/**
 * The counter value of a version string from `formatVersion`, or `-1` for any other string (which then matches no
 * entry: every counter value is at least 1).
 *
 * @internal
 */
export const parseVersion = (version: string): number => {
  if (version.length === 0 || version.length > 11) return -1
  const n = Number.parseInt(version, 36)
  return n >= 1 && Number.isSafeInteger(n) && n.toString(36) === version ? n : -1
}

const SHARDS = 256

/** Which shard holds `token`: three of its characters mixed (tokens are random; a poor spread is only slower). */
const shardOf = (token: string): number => {
  const n = token.length
  if (n === 0) return 0
  return (token.charCodeAt(n - 1) + token.charCodeAt(n >> 1) * 31 + token.charCodeAt(0) * 131) & (SHARDS - 1)
}

/** @internal */
export class MemoryIndex<D = Uint8Array> {
  private readonly shards: Array<Map<string, IndexEntry<D>>> = Array.from({ length: SHARDS }, () => new Map())
  private count = 0
  readonly heap = new ExpiryHeap<IndexEntry<D>>()

  get size(): number {
    return this.count
  }

  /** The entry of `token`, expired or not. */
  peek(token: string): IndexEntry<D> | undefined {
    return this.shards[shardOf(token)]!.get(token)
  }

  has(token: string): boolean {
    return this.shards[shardOf(token)]!.has(token)
  }

  /** Every entry, expired or not. */
  *values(): IterableIterator<IndexEntry<D>> {
    for (const shard of this.shards) yield* shard.values()
  }

  /** The live entry for `token`; an expired one is dropped on the way. */
  get(token: string, now: number): IndexEntry<D> | undefined {
    const entry = this.shards[shardOf(token)]!.get(token)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.removeEntry(entry)
      return undefined
    }
    return entry
  }

  /**
   * Inserts or replaces, with `version`. The caller owns `data` from now on (pass a copy). No bound is applied here:
   * a caller with a limit asks `hasRoomFor` first.
   */
  set(token: string, data: D, expiresAt: number, version: number): void {
    const shard = this.shards[shardOf(token)]!
    const existing = shard.get(token)
    if (existing !== undefined) {
      existing.data = data
      existing.version = version
      this.setExpiry(existing, expiresAt)
      return
    }
    const entry: IndexEntry<D> = { token, data, expiresAt, heapIndex: -1, version }
    shard.set(token, entry)
    this.count++
    this.heap.push(entry)
  }

  /** Moves the expiry of `entry`, an entry held by this index, keeping its data and version. */
  setExpiry(entry: IndexEntry<D>, expiresAt: number): void {
    if (entry.expiresAt !== expiresAt) {
      entry.expiresAt = expiresAt
      this.heap.update(entry)
    }
  }

  /**
   * Whether saving `token` keeps the index within `maxSize` entries: always for a token already held (a
   * replacement), otherwise only when fewer than `maxSize` entries are held once the expired ones are dropped
   * (dropping them costs O(expired · log n)). A full index never makes room by evicting a live entry: whoever can
   * mint new entries (any anonymous visitor) would otherwise push out the established ones.
   */
  hasRoomFor(token: string, maxSize: number, now: number): boolean {
    if (this.count < maxSize || this.shards[shardOf(token)]!.has(token)) return true
    for (;;) {
      const top = this.heap.peek()
      if (top === undefined || top.expiresAt > now) return this.count < maxSize
      this.removeEntry(top)
      if (this.count < maxSize) return true
    }
  }

  delete(token: string): IndexEntry<D> | undefined {
    const entry = this.shards[shardOf(token)]!.get(token)
    if (entry !== undefined) this.removeEntry(entry)
    return entry
  }

  clear(): void {
    for (const shard of this.shards) shard.clear()
    this.count = 0
    this.heap.clear()
  }

  /**
   * Removes expired entries until none is left or `budgetMs` of wall time has passed.
   * Returns whether the sweep finished, and calls `onRemove` for each removed entry.
   */
  sweepSome(now: number, budgetMs: number, onRemove?: (entry: IndexEntry<D>) => void): boolean {
    const started = performance.now()
    let n = 0
    for (;;) {
      const top = this.heap.peek()
      if (top === undefined || top.expiresAt > now) return true
      this.heap.pop()
      this.shards[shardOf(top.token)]!.delete(top.token)
      this.count--
      if (onRemove !== undefined) onRemove(top)
      if ((++n & 255) === 0 && performance.now() - started >= budgetMs) return false
    }
  }

  /** The live entries at `now`, as a snapshot. */
  live(now: number): Array<IndexEntry<D>> {
    const out: Array<IndexEntry<D>> = []
    for (const entry of this.values()) {
      if (entry.expiresAt > now) out.push(entry)
    }
    return out
  }

  private removeEntry(entry: IndexEntry<D>): void {
    this.shards[shardOf(entry.token)]!.delete(entry.token)
    this.count--
    this.heap.remove(entry)
  }
}
