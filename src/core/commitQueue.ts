/**
 * Commits of one session in one process take turns: a `CommitQueue` (one per session layer) lets one commit at a
 * time write a given store key, and hands the key to the next one, first come first served.
 *
 * This is not what makes concurrent requests safe: the store's conditional writes are (they also cover other
 * processes, and a commit that gave up waiting). It is what keeps them cheap. Without it, N requests of one session
 * that commit together all write against the version they loaded, N - 1 of them meet a conflict, back off for a
 * random few milliseconds, read the record again and retry, and some conflict again: a burst of 16 took about 12
 * times as long as 16 writes one after the other. Taking turns, each commit writes once; and one that waited behind
 * a commit that wrote after it loaded knows that its version is gone (`Turn.stale`), so it reads the record again
 * first instead of trying a write that must fail.
 *
 * A commit waits for its turn at most `TURN_WAIT_MS` (a commit ahead of it may be stuck on a stalled store, bounded
 * by the store's own timeout): then it goes ahead without one, and the conditional writes decide, as between
 * processes.
 *
 * @internal
 */

/** The longest a commit waits for its turn before it goes ahead without one, milliseconds. @internal */
export const TURN_WAIT_MS = 1_000

/** A commit's turn on a key: release it exactly once, when the commit has ended. @internal */
export interface Turn {
  readonly key: string
  /** Whether a commit that wrote this key ended after `since` (the version the holder loaded is likely gone). */
  readonly stale: boolean
}

interface Waiter {
  readonly since: number
  readonly wake: (turn: Turn) => void
}

interface Slot {
  readonly waiters: Array<Waiter>
}

/** How many keys `CommitQueue` remembers the last commit of (the oldest is forgotten first). @internal */
export const REMEMBERED_KEYS = 10_000

/** @internal */
export class CommitQueue {
  /** The keys with a commit holding them; a key is absent when no commit holds it. */
  private readonly slots = new Map<string, Slot>()
  /**
   * When the last commit of a key ended (`seq`), for the `REMEMBERED_KEYS` keys committed last: a commit that finds
   * its key free still learns that another one wrote it since its request loaded (requests of one session often
   * commit one right after the other). A key forgotten only costs the write that then fails.
   */
  private readonly lastCommit = new Map<string, number>()
  /** Counts ended commits: a request notes it when it loads its session (`since`). */
  private seq = 0

  /** The mark a request takes when it loads its session: later writes are newer than what it read. */
  get now(): number {
    return this.seq
  }

  /** The number of keys held, for tests. */
  get size(): number {
    return this.slots.size
  }

  /**
   * The turn on `key` when no commit holds it (now held), else `undefined` (`wait` for it). `since`: the mark the
   * request took when it loaded its session.
   */
  tryTake(key: string, since: number): Turn | undefined {
    if (this.slots.has(key)) return undefined
    this.slots.set(key, { waiters: [] })
    return { key, stale: (this.lastCommit.get(key) ?? 0) > since }
  }

  /**
   * Waits for the turn on `key`, held by another commit: `wake` is called with it once every commit queued before
   * has released it. Returns a function that gives up the wait (it does nothing once `wake` has been called).
   * When no commit holds `key` (it was released meanwhile), `wake` is called at once.
   */
  wait(key: string, since: number, wake: (turn: Turn) => void): () => void {
    const slot = this.slots.get(key)
    if (slot === undefined) {
      wake(this.tryTake(key, since)!)
      return () => {}
    }
    const waiter: Waiter = { since, wake }
    slot.waiters.push(waiter)
    return () => {
      const i = slot.waiters.indexOf(waiter)
      if (i >= 0) slot.waiters.splice(i, 1)
    }
  }

  /** Ends `turn`: the next commit waiting for its key gets it, or the key is free. */
  release(turn: Turn): void {
    const slot = this.slots.get(turn.key)
    if (slot === undefined) return
    const seq = ++this.seq
    // most recent last (a Map keeps insertion order), so that the first key is the one to forget
    this.lastCommit.delete(turn.key)
    this.lastCommit.set(turn.key, seq)
    if (this.lastCommit.size > REMEMBERED_KEYS) this.lastCommit.delete(this.lastCommit.keys().next().value!)
    const next = slot.waiters.shift()
    if (next === undefined) {
      this.slots.delete(turn.key)
      return
    }
    next.wake({ key: turn.key, stale: seq > next.since })
  }
}
