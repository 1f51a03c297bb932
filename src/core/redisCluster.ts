/**
 * Which nodes `all` must scan (every master of a Cluster, checked against its slot table), and closing a client
 * the store created. Nothing here imports `ioredis` at run time (it is an optional peer dependency).
 *
 * @internal
 */
import type { Cluster, Redis } from "ioredis"

/** A client the store sends its commands through. @internal */
export type Client = Redis | Cluster

/** @internal */
export const isCluster = (client: Client): client is Cluster => client.isCluster === true

/** The number of hash slots of a Redis Cluster. @internal */
export const SLOTS = 16384

/**
 * What the slot table leaves uncovered: how many slots have no master at all, and the masters (`host:port`) that
 * serve some slot but have no connection among `connected`.
 *
 * @internal
 */
export const uncoveredSlots = (
  slots: ReadonlyArray<ReadonlyArray<string> | undefined>,
  connected: ReadonlySet<string>
): { readonly slots: number; readonly missing: ReadonlyArray<string> } => {
  const missing = new Set<string>()
  let count = 0
  for (let slot = 0; slot < SLOTS; slot++) {
    const master = slots[slot]?.[0]
    if (master === undefined) count++
    else if (!connected.has(master)) missing.add(master)
  }
  return { slots: count, missing: [...missing] }
}

/**
 * Waits until a Cluster client knows its nodes: right after construction, or while it reconnects,
 * `nodes("master")` is empty and a SCAN over it would silently return nothing. (The caller bounds the wait.)
 *
 * @internal
 */
export const clusterReady = (cluster: Cluster): Promise<void> => {
  if (cluster.status === "ready") return Promise.resolve()
  if (cluster.status === "end") return Promise.reject(new Error("Connection is closed."))
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      cluster.off("end", onEnd)
      resolve()
    }
    const onEnd = () => {
      cluster.off("ready", onReady)
      reject(new Error("Connection is closed."))
    }
    cluster.once("ready", onReady)
    cluster.once("end", onEnd)
    if (cluster.status === "wait") cluster.connect().catch(() => {})
  })
}

const address = (node: Redis): string => `${node.options.host}:${node.options.port}`

const uncovered = (cluster: Cluster) => uncoveredSlots(cluster.slots, new Set(cluster.nodes("master").map(address)))

/**
 * The master nodes that together serve every hash slot of a Cluster, ready to be scanned one by one.
 *
 * ioredis drops the connection of a node that went down from `nodes("master")`, so that list alone could make
 * `all` silently skip a master's keys: this checks it against the slot table, refreshes the table once when a
 * master is missing, and fails when some slots still have no master (or no connection to it).
 *
 * @internal
 */
export const clusterMasters = async (cluster: Cluster): Promise<ReadonlyArray<Redis>> => {
  await clusterReady(cluster)
  let gaps = uncovered(cluster)
  if (gaps.slots > 0 || gaps.missing.length > 0) {
    await new Promise<void>((resolve, reject) =>
      cluster.refreshSlotsCache((error) => (error === null || error === undefined ? resolve() : reject(error)))
    )
    gaps = uncovered(cluster)
  }
  if (gaps.slots > 0) throw new Error(`${gaps.slots} hash slots have no master node`)
  if (gaps.missing.length > 0) throw new Error(`no connection to the master node(s) ${gaps.missing.join(", ")}`)
  return cluster.nodes("master")
}

/** The nodes `all` scans: every master of a Cluster, or the standalone client itself. @internal */
export const scanNodes = (client: Client): Promise<ReadonlyArray<Client>> =>
  isCluster(client) ? clusterMasters(client) : Promise.resolve([client])

const within = (promise: Promise<unknown>, ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    promise.then(done, done)
  })

/**
 * Closes a client the store created: `QUIT` when connected (pending replies arrive first), then `disconnect`,
 * which also cancels a pending reconnection, so no socket or timer is left behind. Waits at most `timeoutMs` for
 * each step and never fails.
 *
 * @internal
 */
export const closeOwned = async (client: Redis, timeoutMs: number): Promise<void> => {
  if (client.status === "end") return
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()))
  if (client.status === "ready") await within(client.quit(), timeoutMs)
  client.disconnect()
  // when the client was between reconnection attempts, `disconnect` cancels the next one and no "end" follows
  if (client.status !== "reconnecting") await within(ended, timeoutMs)
}
