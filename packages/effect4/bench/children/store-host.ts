/**
 * Child process on Node 22: hosts the Effect 4 line's store-level subjects for a group that runs in the
 * benchmark's own process (`bench/store/remote.ts` has the protocol). The engines and their settings are the
 * Effect 3 subjects' (`bench/store/groups.ts`, `bench/store/subjects.ts`). Each engine is imported when first
 * asked for, so that the host runs while the line is ported module by module.
 */
import * as Path from "node:path"
import type { RemoteSpec } from "../../../../bench/store/remote.js"
import { serveSubjects } from "../../../../bench/store/remote.js"
import { inTempDir, type Subject } from "../../../../bench/store/subject.js"
import { effectSubject } from "../store/subjects.js"

/** A subject whose engine module is imported on first open. */
const lazy = (name: string, load: () => Promise<Subject>): Subject => ({
  name,
  open: async (workload) => (await load()).open(workload)
})

const open = (name: string, spec: RemoteSpec): Subject => {
  switch (spec.engine) {
    case "memory":
      return lazy(name, async () => effectSubject(name, (await import("../../src/MemStore.js")).make()))
    case "redis":
      return lazy(name, async () => {
        const RedisStore = await import("../../src/RedisStore.js")
        return effectSubject(name, RedisStore.make({ url: spec.url, prefix: spec.prefix }))
      })
    case "file":
      return lazy(name, async () => {
        const FileStore = await import("../../src/FileStore.js")
        return inTempDir(
          name,
          (dir) => effectSubject(name, FileStore.make({ path: Path.join(dir, "sessions.log"), sync: spec.sync }))
        )
      })
    default:
      throw new Error(`unknown engine ${JSON.stringify(spec)}`)
  }
}

serveSubjects(open)
