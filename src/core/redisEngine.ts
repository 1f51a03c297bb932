/**
 * RedisStore's engine, shared by both lines: the commands of each store operation over one ioredis client
 * (standalone or Cluster), each round trip bounded (`RoundTrips`), every outcome handed to a callback. The shells
 * wrap each operation in their Effect's callback constructor and `all`'s pages in their `Stream`.
 *
 * Each session is one Redis string under `prefix + token` with a `PX` TTL; `all` scans every node that serves
 * keys (`scanNodes`) with `SCAN ... MATCH`, reads each batch of keys with one pipeline of `GET`s, and follows
 * the keys that moved since (resharding) through the client. `saveIf` and `touch` are one Lua script each
 * (`redisScripts.ts`), on the one key, in one round trip; `load` is `GET` and `PTTL` sent together (or the `LOAD`
 * script on a client without auto-pipelining).
 *
 * @internal
 */
import { type Client, isCluster, scanNodes } from "./redisCluster.js"
import type { ConnectionState } from "./redisErrors.js"
import { RedisFailure } from "./redisErrors.js"
import {
  copyReply,
  type Keyspace,
  keyspace,
  newTokens,
  nodeKey,
  pipelineReplies,
  toBytes,
  toValue
} from "./redisKeys.js"
import { type Done, RoundTrips } from "./redisRoundTrip.js"
import {
  evalScript,
  LOAD,
  type Loaded,
  millisToLive,
  SAVE_IF,
  toApplied,
  toLoaded,
  toLoadedPair,
  TOUCH,
  versionOf
} from "./redisScripts.js"

/** @internal */
export interface EngineOptions {
  readonly prefix: string
  /** The bound of one round trip, in milliseconds of real time. */
  readonly timeoutMs: number
  /** The `COUNT` hint of `all`'s `SCAN`. */
  readonly scanCount: number
  /** Whether the store created the client (and closes it): it then keeps its `error` listener after `release`. */
  readonly owned: boolean
}

/** One page of `all` on one node: the entries read, and the cursor of the next `SCAN` (none after the last). @internal */
export interface Page {
  readonly entries: ReadonlyArray<readonly [token: string, data: Uint8Array]>
  readonly next: string | undefined
}

const toVoid = (_: unknown): void => {}

const touchApplied = (reply: unknown): boolean => toApplied("touch", reply)

const describeTarget = (client: Client): { readonly target: string; readonly tls: boolean } => {
  if (isCluster(client)) return { target: "the Cluster", tls: client.options.redisOptions?.tls !== undefined }
  const options = client.options
  const target = typeof options.path === "string" && options.path !== ""
    ? options.path
    : `${options.host ?? "localhost"}:${options.port ?? 6379}`
  return { target, tls: options.tls !== undefined }
}

/**
 * A store's engine over `client`. Creating it listens to the client's `error` and `ready` events (to name the last
 * connection error in failures); `release` marks it closed (operations then fail with `Closed`), stops holding the
 * process open for pending deadlines, and removes the listeners (the `error` one only from a client it does not
 * own: an owned client may still report errors while it closes).
 *
 * @internal
 */
export class RedisEngine {
  readonly roundTrips: RoundTrips
  readonly space: Keyspace
  private closed = false
  private lastError: Error | undefined = undefined
  private readonly target: { readonly target: string; readonly tls: boolean }
  /** Whether the client sends the commands of one tick in one write (ioredis `enableAutoPipelining`). */
  private readonly pipelined: boolean

  constructor(readonly client: Client, private readonly options: EngineOptions) {
    this.space = keyspace(options.prefix, client.options.keyPrefix)
    this.pipelined = client.options.enableAutoPipelining === true
    this.target = describeTarget(client)
    this.roundTrips = new RoundTrips(options.timeoutMs, {
      state: () => this.state(),
      isClosed: () => this.closed
    })
    client.on("error", this.onError)
    client.on("ready", this.onReady)
  }

  private readonly onError = (error: unknown): void => {
    this.lastError = error instanceof Error ? error : new Error(String(error))
  }

  private readonly onReady = (): void => {
    this.lastError = undefined
  }

  /** The client's connection as failures describe it. */
  state(): ConnectionState {
    return { status: this.client.status, lastError: this.lastError, ...this.target }
  }

  get isClosed(): boolean {
    return this.closed
  }

  release(): void {
    this.closed = true
    this.roundTrips.deadlines.release()
    this.client.off("ready", this.onReady)
    if (!this.options.owned) this.client.off("error", this.onError)
  }

  /** `GET`: the session's bytes (a copy), or `undefined`. */
  find(token: string, done: Done<Uint8Array | undefined>): void {
    this.roundTrips.run("find", () => this.client.getBuffer(this.space.prefix + token), toBytes, done)
  }

  /**
   * `SET ... PX` with the time left until `expiryMillis` from `nowMillis` (both on the caller's clock), or `DEL`
   * when none is left.
   */
  save(token: string, data: Uint8Array, expiryMillis: number, nowMillis: number, done: Done<void>): void {
    const key = this.space.prefix + token
    const millis = millisToLive(expiryMillis, nowMillis)
    if (millis <= 0) return this.roundTrips.run("save", () => this.client.del(key), toVoid, done)
    const value = toValue(data)
    this.roundTrips.run("save", () => this.client.set(key, value, "PX", millis), toVoid, done)
  }

  /**
   * The live entry (a copy of its bytes, their version, its expiry: its `PTTL` after `nowMillis`, the caller's
   * clock when it sent the command), or `undefined`.
   *
   * On a client with ioredis auto-pipelining (the store's own client has it), `GET` and `PTTL` are sent together,
   * in one write: two plain commands cost Redis about half of what one script does. They are not one atomic read,
   * and need not be: the version is the digest of the bytes read, so a write that lands between the two can only
   * pair these bytes with a newer expiry, and the conditional writes that follow (`saveIf`, `touch`) find a version
   * that is no longer there. Without auto-pipelining they would be two writes to the socket, so the `LOAD` script
   * reads both instead.
   */
  load(token: string, nowMillis: number, done: Done<Loaded | undefined>): void {
    const key = this.space.prefix + token
    if (this.pipelined) {
      this.roundTrips.run(
        "load",
        () => Promise.all([this.client.getBuffer(key), this.client.pttl(key)]),
        ([value, ttl]) => toLoadedPair(value, ttl, nowMillis),
        done
      )
    } else {
      this.roundTrips.run(
        "load",
        () => evalScript(this.client, LOAD, key, []),
        (reply) => toLoaded(reply, nowMillis),
        done
      )
    }
  }

  /**
   * Writes `data` until `expiryMillis` (or removes the entry when that is not after `nowMillis`) only when the live
   * entry's version is `expected`, or, with `expected` `undefined`, only when there is no live entry: the new
   * version when it did, `undefined` on a conflict.
   */
  saveIf(
    token: string,
    data: Uint8Array,
    expiryMillis: number,
    nowMillis: number,
    expected: string | undefined,
    done: Done<string | undefined>
  ): void {
    const key = this.space.prefix + token
    const value = toValue(data)
    // the digest of the bytes sent (the caller may change `data` once this returns)
    const version = versionOf(data)
    const millis = millisToLive(expiryMillis, nowMillis)
    const args = expected === undefined ? [value, millis] : [value, millis, expected]
    this.roundTrips.run(
      "saveIf",
      () => evalScript(this.client, SAVE_IF, key, args),
      (reply) => toApplied("saveIf", reply) ? version : undefined,
      done
    )
  }

  /**
   * Moves the expiry of the live entry whose version is `expected` to `expiryMillis` (removes it when that is not
   * after `nowMillis`), keeping its bytes: whether it did.
   */
  touch(token: string, expiryMillis: number, nowMillis: number, expected: string, done: Done<boolean>): void {
    const key = this.space.prefix + token
    const millis = millisToLive(expiryMillis, nowMillis)
    this.roundTrips.run("touch", () => evalScript(this.client, TOUCH, key, [expected, millis]), touchApplied, done)
  }

  /** `DEL`. */
  delete(token: string, done: Done<void>): void {
    this.roundTrips.run("delete", () => this.client.del(this.space.prefix + token), toVoid, done)
  }

  /** The nodes `all` scans, one after the other: every master of a Cluster, or the standalone client. */
  nodes(done: Done<ReadonlyArray<Client>>): void {
    this.roundTrips.run("all", () => scanNodes(this.client), identity, done)
  }

  /**
   * One page of `all` on `node` from `cursor` (`"0"` for the first): one `SCAN`, one pipeline of `GET`s for the
   * keys not in `seen` (which it adds them to), and one more round trip for keys that moved. Keys that expired or
   * were deleted since the `SCAN` are skipped.
   */
  page(node: Client, cursor: string, seen: Set<string>, done: Done<Page>): void {
    this.roundTrips.settle("all", this.readPage(node, cursor, seen), done)
  }

  private async readPage(node: Client, cursor: string, seen: Set<string>): Promise<Page> {
    const { pattern } = this.space
    const [next, keys] = await this.roundTrips.call(
      "all",
      () => node.scan(cursor, "MATCH", pattern, "COUNT", this.options.scanCount)
    )
    const entries = await this.values(node, keys, seen)
    return { entries, next: next === "0" ? undefined : next }
  }

  private async values(
    node: Client,
    keys: ReadonlyArray<string>,
    seen: Set<string>
  ): Promise<ReadonlyArray<readonly [string, Uint8Array]>> {
    const nodeKeyPrefix = node.options.keyPrefix ?? ""
    const tokens = newTokens(keys, this.space, nodeKeyPrefix, seen)
    if (tokens === "keyPrefix") {
      throw new RedisFailure("InvalidInput", "all", "the Cluster's keyPrefix and its nodes' keyPrefix differ")
    }
    if (tokens.length === 0) return []
    const results = await this.roundTrips.call("all", () => {
      const pipeline = node.pipeline()
      for (const token of tokens) pipeline.getBuffer(nodeKey(this.space, token, nodeKeyPrefix))
      return pipeline.exec()
    })
    const { error, found, moved } = pipelineReplies(tokens, results)
    if (error !== undefined) throw this.roundTrips.failure("all", error)
    if (moved.length === 0) return found
    // keys that moved to another node since the SCAN (resharding): ask the client, which follows redirects
    const values = await this.roundTrips.call(
      "all",
      () => Promise.all(moved.map((token) => this.client.getBuffer(this.space.prefix + token)))
    )
    values.forEach((value, i) => {
      if (value !== null) found.push([moved[i]!, copyReply(value)])
    })
    return found
  }
}

const identity = <A>(a: A): A => a
