/**
 * Profiling aid, not part of `npm run bench`: runs one store-level subject alone, so that a CPU profile shows
 * nothing else.
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --import ./bench/lib/use-dist.mjs \
 *     bench/children/profile.ts memory "MemStore (Effect 3)" 1 300000
 *
 * Arguments: the group (memory, redis, file), the subject's name as the tables show it, the concurrency, and the
 * number of operations. An Effect 4 subject (`"MemStore (Effect 4)"`) runs in its Node 22 host, which gets this
 * process' `--cpu-prof*` options (the profile to read is the host's).
 */
import { RedisServer } from "../../test/helpers/redis.js"
import { makeWorkload } from "../lib/workload.js"
import { runGroup } from "../store/group.js"
import { type GroupId, groupSubjects } from "../store/groups.js"
import { RemoteHost } from "../store/remote.js"

const [group = "memory", name = "MemStore", concurrency = "1", opsArg = "300000"] = process.argv.slice(2)
const ops = Number(opsArg)
const redis = group === "redis" ? await RedisServer.start() : undefined
const effect4 = name.includes("(Effect 4)")
  ? await RemoteHost.start(4, "children/store-host.ts", {
    execArgv: process.execArgv.filter((arg) => arg.startsWith("--cpu-prof"))
  })
  : undefined
try {
  const subjects = groupSubjects(group as GroupId, { redisUrl: redis?.url, effect4 }).filter((s) => s.name === name)
  if (subjects.length === 0) throw new Error(`no subject named ${name} in group ${group}`)
  const [result] = await runGroup(subjects, makeWorkload(10_000, ops), {
    rounds: 1,
    modes: [{ name: `${concurrency} in flight`, concurrency: Number(concurrency) }],
    limit: { ops, ms: 120_000 },
    warmup: { ops: 20_000, ms: 2000 }
  })
  console.log(JSON.stringify(result?.rounds[0]))
} finally {
  await effect4?.dispose()
  await redis?.dispose()
}
