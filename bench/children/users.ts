/**
 * Child process of section 6 (a user's sessions, issue 15), Effect 3 line: opens a small and a big store of one
 * engine, fills them with other users' sessions through the store's `save`, binds the measured users' sessions
 * through `SessionManager`, and times `listUserSessions` and `revokeUserSessions` in both (`lib/userSessions.ts`).
 * `packages/effect4/bench/children/users.ts` is the Effect 4 twin.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as FileStore from "../../src/FileStore.js"
import * as MemStore from "../../src/MemStore.js"
import * as RedisStore from "../../src/RedisStore.js"
import * as Session from "../../src/Session.js"
import * as Store from "../../src/Store.js"
import { childMain } from "../lib/child.js"
import {
  INFO,
  measuredUser,
  measureUsers,
  otherUser,
  REDIS_PREFIX,
  SESSIONS_PER_USER,
  type StoreTimes,
  type UsersEngine,
  type UsersInput,
  type UsersOutput,
  type UsersStoreSpec
} from "../lib/userSessions.js"

const Note = Session.key("note", Schema.String)

const openStore = (
  engine: UsersEngine,
  spec: UsersStoreSpec
): Effect.Effect<Store.SessionStoreService, Store.SessionStoreError, Scope.Scope | FileSystem.FileSystem> => {
  switch (engine) {
    case "memory":
      return MemStore.make()
    case "file":
      return FileStore.make({ path: spec.path!, sync: "everysec" })
    case "redis":
      return RedisStore.make({ url: spec.url!, prefix: REDIS_PREFIX })
  }
}

childMain<UsersInput, UsersOutput>(async (input) => {
  const scope = Effect.runSync(Scope.make())
  try {
    const managers: Array<Session.SessionManagerService> = []
    const fills: Array<Pick<StoreTimes, "others" | "filled" | "fillMs">> = []
    const expiry = DateTime.unsafeMake(input.expiresAt)
    for (const spec of input.stores) {
      const store = await Effect.runPromise(
        openStore(input.engine, spec).pipe(Scope.extend(scope), Effect.provide(NodeFileSystem.layer))
      )
      let filled = 0
      const t0 = performance.now()
      if (spec.fill) {
        const now = Date.now()
        const users = Array.from({ length: spec.others / SESSIONS_PER_USER }, (_, u) => u)
        await Effect.runPromise(
          Effect.forEach(users, (u) =>
            Effect.forEach(otherUser(u, now, input.expiresAt), ([key, data]) => {
              filled++
              return store.save(key, data, expiry)
            }, { discard: true }), { concurrency: input.engine === "memory" ? 1 : 256, discard: true })
        )
      }
      fills.push({ others: spec.others, filled, fillMs: spec.fill ? performance.now() - t0 : 0 })
      const manager = await Effect.runPromise(
        Session.makeManager().pipe(Effect.provideService(Store.SessionStore, store))
      )
      managers.push(manager)
      for (let i = 0; i < input.warmupUsers + input.users; i++) {
        for (let s = 0; s < SESSIONS_PER_USER; s++) {
          const { commit, session } = manager.begin(undefined)
          await Effect.runPromise(Effect.gen(function*() {
            yield* session.setUser(measuredUser(input.line, i), INFO)
            yield* session.set(Note, `session ${s}`)
            yield* commit
          }))
        }
      }
    }
    const times = await measureUsers(input, {
      list: (store, user) => Effect.runPromise(Effect.map(managers[store]!.listUserSessions(user), (l) => l.length)),
      revoke: (store, user) => Effect.runPromise(managers[store]!.revokeUserSessions(user))
    })
    return { stores: fills.map((fill, i) => ({ ...fill, list: times.list[i]!, revoke: times.revoke[i]! })) }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
})
