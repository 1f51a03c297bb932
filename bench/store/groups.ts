/**
 * The three store-level comparisons of section 1, with their targets.
 */
import * as MemStore from "../../src/MemStore.js"
import * as RedisStore from "../../src/RedisStore.js"
import { atLeast } from "../lib/table.js"
import type { Comparison } from "./group.js"
import {
  connectRedis,
  effectSubject,
  expressMemoryStore,
  fileStore,
  mapJsonCeiling,
  memorystore,
  rawIoredis,
  sessionFileStore,
  type Subject
} from "./subjects.js"

export type GroupId = "memory" | "redis" | "file"

export const GROUP_IDS: ReadonlyArray<GroupId> = ["memory", "redis", "file"]

export const groupTitle: Record<GroupId, string> = {
  memory: "1a. Store level, in memory: MemStore vs memorystore and express-session's MemoryStore",
  redis: "1b. Store level, Redis: RedisStore vs connect-redis, raw ioredis as the ceiling",
  file: "1c. Store level, files: FileStore (each sync mode) vs session-file-store"
}

/** The subject names, shared by the subjects and the comparisons. */
export const names = {
  memStore: "MemStore",
  memorystore: memorystore.name,
  expressMemory: expressMemoryStore.name,
  mapJson: mapJsonCeiling.name,
  redisStore: "RedisStore",
  connectRedis: "connect-redis (+redis client)",
  ioredis: "raw ioredis GET/SET PX (ceiling)",
  fileAlways: "FileStore (always)",
  fileEverysec: "FileStore (everysec)",
  fileNever: "FileStore (never)",
  sessionFileStore: sessionFileStore.name
} as const

export const groupSubjects = (id: GroupId, redisUrl?: string): ReadonlyArray<Subject> => {
  switch (id) {
    case "memory":
      return [effectSubject(names.memStore, MemStore.make()), memorystore, expressMemoryStore, mapJsonCeiling]
    case "redis": {
      if (redisUrl === undefined) throw new Error("the Redis group needs a Redis URL")
      return [
        effectSubject(names.redisStore, RedisStore.make({ url: redisUrl, prefix: "bench:ours:" })),
        connectRedis(redisUrl),
        rawIoredis(redisUrl)
      ]
    }
    case "file":
      return [fileStore("always"), fileStore("everysec"), fileStore("never"), sessionFileStore]
  }
}

export const groupComparisons: Record<GroupId, ReadonlyArray<Comparison>> = {
  memory: [
    { subject: names.memStore, against: names.memorystore, target: atLeast(1.5) },
    { subject: names.memStore, against: names.expressMemory },
    { subject: names.memStore, against: names.mapJson },
    { subject: names.memorystore, against: names.mapJson },
    { subject: names.expressMemory, against: names.mapJson }
  ],
  redis: [
    { subject: names.redisStore, mode: "sequential", against: names.ioredis, target: atLeast(0.9) },
    { subject: names.redisStore, mode: "sequential", against: names.connectRedis },
    { subject: names.redisStore, mode: "64 in flight", against: names.connectRedis, target: atLeast(1.5) },
    { subject: names.redisStore, mode: "64 in flight", against: names.ioredis },
    { subject: names.connectRedis, against: names.ioredis }
  ],
  file: [
    { subject: names.fileAlways, against: names.sessionFileStore, target: atLeast(5) },
    { subject: names.fileEverysec, against: names.sessionFileStore, target: atLeast(20) },
    { subject: names.fileNever, against: names.sessionFileStore }
  ]
}
