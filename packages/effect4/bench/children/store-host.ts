/**
 * Child process on Node 22: hosts the Effect 4 line's store-level subjects for a group that runs in the
 * benchmark's own process (`bench/store/remote.ts` has the protocol). The engines and their settings are the
 * Effect 3 subjects' (`bench/store/groups.ts`).
 */
import type { RemoteSpec } from "../../../../bench/store/remote.js"
import { serveSubjects } from "../../../../bench/store/remote.js"
import * as MemStore from "../../src/MemStore.js"
import { effectSubject } from "../store/subjects.js"

const open = (name: string, spec: RemoteSpec) => {
  switch (spec.engine) {
    case "memory":
      return effectSubject(name, MemStore.make())
    case "redis":
    case "file":
      throw new Error(`the Effect 4 ${spec.engine} store is not in this host yet`)
    default:
      throw new Error(`unknown engine ${JSON.stringify(spec)}`)
  }
}

serveSubjects(open)
