/**
 * Profiling aid, not part of `npm run bench`: runs one store-level subject alone, so that a CPU profile shows
 * nothing else.
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --import ./bench/lib/use-dist.mjs \
 *     bench/children/profile.ts memory MemStore 1 300000
 *
 * Arguments: the group (memory, redis, file), the subject's name as the tables show it, the concurrency, and the
 * number of operations.
 */
import { RedisServer } from "../../test/helpers/redis.js"
import { makeWorkload } from "../lib/workload.js"
import { runGroup } from "../store/group.js"
import { type GroupId, groupSubjects } from "../store/groups.js"

const [group = "memory", name = "MemStore", concurrency = "1", opsArg = "300000"] = process.argv.slice(2)
const ops = Number(opsArg)
const redis = group === "redis" ? await RedisServer.start() : undefined
try {
  const subjects = groupSubjects(group as GroupId, { redisUrl: redis?.url }).filter((s) => s.name === name)
  if (subjects.length === 0) throw new Error(`no subject named ${name} in group ${group}`)
  const [result] = await runGroup(subjects, makeWorkload(10_000, ops), {
    rounds: 1,
    modes: [{ name: `${concurrency} in flight`, concurrency: Number(concurrency) }],
    limit: { ops, ms: 120_000 },
    warmup: { ops: 20_000, ms: 2000 }
  })
  console.log(JSON.stringify(result?.rounds[0]))
} finally {
  await redis?.dispose()
}
