/**
 * An indexed binary min-heap ordered by expiry.
 *
 * Each entry carries its own position (`heapIndex`), so an entry can be moved or removed in O(log n) when its
 * expiry changes or it is deleted, and the heap never holds stale entries. Sweeping the expired entries costs
 * O(k log n) for k expired entries, whatever the total size.
 *
 * @internal
 */

/** @internal */
export interface HeapEntry {
  expiresAt: number
  heapIndex: number
}

/** @internal */
export class ExpiryHeap<E extends HeapEntry> {
  private readonly items: Array<E> = []

  get size(): number {
    return this.items.length
  }

  peek(): E | undefined {
    return this.items[0]
  }

  push(entry: E): void {
    entry.heapIndex = this.items.length
    this.items.push(entry)
    this.up(entry.heapIndex)
  }

  /** Restores the order after `entry.expiresAt` changed. */
  update(entry: E): void {
    const i = entry.heapIndex
    this.up(i)
    this.down(entry.heapIndex === i ? i : entry.heapIndex)
  }

  remove(entry: E): void {
    const i = entry.heapIndex
    const items = this.items
    if (i < 0 || i >= items.length || items[i] !== entry) return
    const last = items.pop()!
    entry.heapIndex = -1
    if (i < items.length) {
      items[i] = last
      last.heapIndex = i
      this.up(i)
      this.down(last.heapIndex)
    }
  }

  pop(): E | undefined {
    const top = this.items[0]
    if (top !== undefined) this.remove(top)
    return top
  }

  clear(): void {
    for (const entry of this.items) entry.heapIndex = -1
    this.items.length = 0
  }

  private up(i: number): void {
    const items = this.items
    const entry = items[i]!
    while (i > 0) {
      const parentIndex = (i - 1) >> 1
      const parent = items[parentIndex]!
      if (parent.expiresAt <= entry.expiresAt) break
      items[i] = parent
      parent.heapIndex = i
      i = parentIndex
    }
    items[i] = entry
    entry.heapIndex = i
  }

  private down(i: number): void {
    const items = this.items
    const n = items.length
    const entry = items[i]!
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      let child = left
      if (right < n && items[right]!.expiresAt < items[left]!.expiresAt) child = right
      const childEntry = items[child]!
      if (entry.expiresAt <= childEntry.expiresAt) break
      items[i] = childEntry
      childEntry.heapIndex = i
      i = child
    }
    items[i] = entry
    entry.heapIndex = i
  }
}
