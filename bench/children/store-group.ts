/**
 * Child process: runs one store-level group (memory, redis or file) and reports its results. The Redis group
 * starts its own private redis-server on a free port, as the tests do, and stops it afterwards. The Effect 4
 * line's subjects run in a Node 22 host started for the group (`store/remote.ts`), measured in the same
 * alternation as the others.
 */
import { RedisServer } from "../../test/helpers/redis.js"
import { childMain } from "../lib/child.js"
import { makeWorkload, storedSizes } from "../lib/workload.js"
import { IN_FLIGHT_64, runGroup, SEQUENTIAL, type SubjectResult } from "../store/group.js"
import { type Effect4Engine, type GroupId, groupSubjects } from "../store/groups.js"
import { RemoteHost } from "../store/remote.js"

export interface StoreGroupInput {
  readonly id: GroupId
  readonly sessions: number
  readonly ops: number
  readonly rounds: number
  readonly limitMs: number
  readonly warmupOps: number
  /** The Effect 4 engines to measure (none: the Effect 3 line only). */
  readonly effect4: ReadonlyArray<Effect4Engine>
}

export interface StoreGroupOutput {
  readonly results: ReadonlyArray<SubjectResult>
  readonly sizes: { readonly ours: number; readonly express: number }
  readonly redisVersion?: string
}

childMain<StoreGroupInput, StoreGroupOutput>(async (input) => {
  const workload = makeWorkload(input.sessions, input.ops)
  // before the run: session-file-store adds a field to the session objects it saves
  const sizes = storedSizes(workload)
  // started side by side; whichever starts is stopped again if the other fails
  const [redisStart, hostStart] = await Promise.allSettled([
    input.id === "redis" ? RedisServer.start() : undefined,
    input.effect4.includes(input.id) ? RemoteHost.start(4, "children/store-host.ts") : undefined
  ])
  const redis = redisStart.status === "fulfilled" ? redisStart.value : undefined
  const effect4 = hostStart.status === "fulfilled" ? hostStart.value : undefined
  try {
    if (redisStart.status === "rejected") throw redisStart.reason
    if (hostStart.status === "rejected") throw hostStart.reason
    const subjects = groupSubjects(input.id, { redisUrl: redis?.url, effect4, effect4Engines: input.effect4 })
    const results = await runGroup(subjects, workload, {
      rounds: input.rounds,
      modes: [SEQUENTIAL, IN_FLIGHT_64],
      limit: { ops: input.ops, ms: input.limitMs },
      warmup: { ops: input.warmupOps, ms: Math.min(1000, input.limitMs) },
      log: (line) => console.log(line)
    })
    return { results, sizes }
  } finally {
    await effect4?.dispose()
    await redis?.dispose()
  }
})
