/**
 * A user's sessions (issue 15), as scenarios with no Effect import, run by both lines' `userSessions.test.ts` on
 * MemStore, FileStore, RedisStore and RedisStore over a 3-master Cluster. Each scenario gets a `World`: a fresh
 * store and `SessionManager` (the admin operations, as a job outside any request would call them), requests of the
 * session through `SessionManager.begin` (one `Session` operation per call, so a test can interleave them with
 * admin calls), and a real HTTP server whose routes (below) use `Session` inside requests.
 *
 * The routes (`GET`; values are `Schema.String` keys):
 *
 * - `/login?user=U&agent=A`: `renew`, `setUser(U, { agent: A })`, sets `owner` to `U`.
 * - `/set?k=K&v=V[&gate=G]`: reads the session (so it is loaded before what follows), passes the gate `G`, sets
 *   `K` to `V`.
 * - `/renew[?gate=G]`: reads the session, passes the gate `G`, `renew`.
 * - `/read`: answers `{ user, key, values }` (`Session.user`, `Session.storeKey`, every value) as JSON, `null`s
 *   for none.
 *
 * Times are epoch milliseconds of the world's Effect `Clock`: a `TestClock` on MemStore and FileStore (`wait`
 * adjusts it), the wall clock on RedisStore, which expires keys on its own clock (`wait` sleeps; the scenarios then
 * use short real lifetimes).
 *
 * The login example's "my sessions" and "sign out other devices" endpoints are driven over HTTP by `loginExample`.
 */
import assert from "node:assert/strict"
import * as UserIndex from "../../src/core/userIndex.js"
import { Gates, storeKey } from "./concurrencyScenarios.js"
import { launchExample, stopProcess } from "./exampleProcess.js"
import { FetchJar, type Reply } from "./jar.js"

export { Gates }

export type Engine = "MemStore" | "FileStore" | "RedisStore" | "RedisCluster"

export const engines: ReadonlyArray<Engine> = ["MemStore", "FileStore", "RedisStore", "RedisCluster"]

/** `SessionManager.listUserSessions`'s `UserSession`, with `Option`s as `undefined` and times as milliseconds. */
export interface Listed {
  readonly key: string
  readonly userId: string
  readonly createdAt: number | undefined
  readonly lastSeenAt: number | undefined
  readonly expiresAt: number
  readonly info: Readonly<Record<string, string>> | undefined
}

/** `SessionManager.loadSession`'s `StoredSession` (and each element of `sessions`), the same way. */
export interface Loaded {
  readonly key: string
  readonly userId: string | undefined
  readonly createdAt: number | undefined
  readonly deadline: number
  readonly values: Readonly<Record<string, unknown>>
}

/** What a commit decided (`CommitResult`), without the cookie's attributes. */
export type Outcome =
  | { readonly _tag: "SetCookie"; readonly token: string }
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "ExpireCookie" }

/** What a request sees of its session: `Session.user`, `Session.storeKey` and every value. */
export interface Seen {
  readonly user: string | undefined
  readonly key: string | undefined
  readonly values: Readonly<Record<string, string>>
}

/** One request's session (`SessionManager.begin`): each call runs one `Session` operation on it. */
export interface Request {
  /** Loads the session (on first use) and answers what the request sees. */
  readonly read: () => Promise<Seen>
  readonly set: (name: string, value: string) => Promise<void>
  readonly setUser: (user: string, info?: Readonly<Record<string, string>>) => Promise<void>
  readonly renew: () => Promise<void>
  readonly destroy: () => Promise<void>
  /** `Session.setDeadline` to an absolute time. */
  readonly setDeadline: (at: number) => Promise<void>
  readonly commit: () => Promise<Outcome>
}

/** A store entry as the engine holds it, below the session layer (`SessionStore.load`). */
export interface RawEntry {
  readonly version: string
  readonly expiry: number
}

/** FileStore only: the log under the store. */
export interface FileControls {
  /** `FileStore.liveSize`: the size the log has right after a compaction, bytes. */
  readonly liveSize: () => Promise<number>
  /** Releases the store (its layer's scope) and opens a new one on the same log, with a new `SessionManager`. */
  readonly restart: () => Promise<void>
  /** `FileStore.compact`: rewrites the log with only the live entries and waits for it. */
  readonly compact: () => Promise<void>
  /** `FileStore.logSize`, bytes. */
  readonly logSize: () => Promise<number>
}

export interface World {
  readonly engine: Engine
  readonly clock: Clock
  /** The `Clock`'s time now. */
  readonly now: () => Promise<number>
  /** Moves time on by `ms` (nothing when it is not positive): `TestClock.adjust`, or a real sleep. */
  readonly wait: (ms: number) => Promise<void>
  readonly begin: (token: string | undefined) => Request
  readonly list: (user: string) => Promise<ReadonlyArray<Listed>>
  readonly revokeSession: (key: string) => Promise<boolean>
  readonly revokeAll: (user: string, except?: string) => Promise<number>
  readonly load: (key: string) => Promise<Loaded | undefined>
  /** `SessionManager.sessions`, collected. */
  readonly sessions: () => Promise<ReadonlyArray<Loaded>>
  readonly raw: (key: string) => Promise<RawEntry | undefined>
  /** The HTTP server's base URL and the gates its routes pass. */
  readonly base: string
  readonly gates: Gates
  readonly file: FileControls | undefined
}

/** Session options in milliseconds (both lines read numbers as milliseconds). */
export interface Options {
  readonly lifetime?: number
  readonly idleTimeout?: number
  readonly touchAfter?: number
}

export type Clock = "test" | "live"

/** The clock a world runs on: Redis expires keys on its own (wall) clock, which a `TestClock` cannot move. */
export const clockOf = (engine: Engine): Clock => engine === "RedisStore" || engine === "RedisCluster" ? "live" : "test"

export interface Scenario {
  readonly name: string
  /** The engines it runs on; all four when absent. */
  readonly engines?: ReadonlyArray<Engine>
  /** Session options for the clock the world runs on; the lifetime defaults to `DEFAULT_LIFETIME`. */
  readonly options?: (clock: Clock) => Options
  /** FileStore options (the default sync is `"everysec"`). */
  readonly fileStore?: {
    readonly sync?: "always" | "everysec" | "never"
    readonly compaction?: { readonly minSize: number } | false
  }
  readonly timeout?: number
  readonly run: (w: World) => Promise<void>
}

export const DEFAULT_LIFETIME = 3_600_000

/** The session options of `scenario` on `engine`, lifetime included. */
export const optionsOf = (scenario: Scenario, engine: Engine): Options => ({
  lifetime: DEFAULT_LIFETIME,
  ...scenario.options?.(clockOf(engine))
})

/**
 * A unit of time for the scenarios about expiry: a minute of `TestClock`, or half a second of the wall clock (Redis
 * expires keys itself, so its scenarios wait for real).
 */
const unit = (clock: Clock) => clock === "test" ? 60_000 : 500

// ---------------------------------------------------------------------------------------------------------------
// helpers

/** Runs `f` over `items`, at most `concurrency` at a time, keeping the order of the results. */
const pool = async <A, B>(items: ReadonlyArray<A>, concurrency: number, f: (a: A, i: number) => Promise<B>) => {
  const out = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return out
}

/** How far a time read back may be from the time it was derived from: RedisStore's expiry is `now + PTTL`. */
const slackOf = (w: World) => w.clock === "test" ? 0 : 250

const within = (w: World, what: string, actual: number | undefined, from: number, to: number) => {
  assert.ok(actual !== undefined, `${what}: none`)
  const slack = slackOf(w)
  assert.ok(actual >= from - slack && actual <= to + slack, `${what}: ${actual} not within [${from}, ${to}] ± ${slack}`)
}

/** `a` and `b` list the same sessions: equal but for `expiresAt`, which may differ by the slack (Redis). */
const assertSameListing = (w: World, a: ReadonlyArray<Listed>, b: ReadonlyArray<Listed>, what: string) => {
  const strip = (list: ReadonlyArray<Listed>) => list.map(({ expiresAt: _, ...rest }) => rest)
  assert.deepEqual(strip(a), strip(b), what)
  for (const [i, s] of a.entries()) within(w, `${what}: expiresAt`, s.expiresAt, b[i]!.expiresAt, b[i]!.expiresAt)
}

/** A session as the store and `loadSession` hold it. */
interface Snapshot {
  readonly raw: RawEntry | undefined
  readonly loaded: Loaded | undefined
}

const snapshotOf = async (w: World, key: string): Promise<Snapshot> => ({
  raw: await w.raw(key),
  loaded: await w.load(key)
})

/** Nothing changed: the same version and record (the expiry read back may differ by the slack: Redis). */
const assertUntouched = (w: World, now: Snapshot, then: Snapshot, what: string) => {
  assert.deepEqual(now.loaded, then.loaded, what)
  assert.equal(now.raw?.version, then.raw?.version, `${what}: version`)
  within(w, `${what}: expiry`, now.raw?.expiry, then.raw!.expiry, then.raw!.expiry)
}

interface Login {
  readonly user: string
  readonly token: string
  readonly key: string
  readonly info: Readonly<Record<string, string>>
  /** The clock before the request began and after its commit. */
  readonly before: number
  readonly after: number
  /** Its deadline (`setDeadline`, or the lifetime from its creation). */
  readonly deadline: number | undefined
}

/** Logs in through `SessionManager.begin`: a new session bound to `user` with `info`, `owner` set to `user`. */
const login = async (
  w: World,
  user: string,
  info: Readonly<Record<string, string>> = { agent: `agent of ${user}` },
  deadlineIn?: number
): Promise<Login> => {
  const before = await w.now()
  const request = w.begin(undefined)
  await request.renew()
  await request.setUser(user, info)
  await request.set("owner", user)
  if (deadlineIn !== undefined) await request.setDeadline(before + deadlineIn)
  const outcome = await request.commit()
  const after = await w.now()
  assert.equal(outcome._tag, "SetCookie", `the login of ${user} sets a cookie`)
  const token = (outcome as { token: string }).token
  // after its commit, the request sees the store key its session was saved under
  const seen = await request.read()
  assert.equal(seen.key, storeKey(token), "Session.storeKey is the store key of the token")
  assert.equal(seen.user, user)
  return {
    user,
    token,
    key: seen.key!,
    info,
    before,
    after,
    deadline: deadlineIn === undefined ? undefined : before + deadlineIn
  }
}

/** A request with `token` that changes nothing (only reads): what it sees, and what its commit decided. */
const visit = async (w: World, token: string): Promise<{ seen: Seen; outcome: Outcome }> => {
  const request = w.begin(token)
  const seen = await request.read()
  return { seen, outcome: await request.commit() }
}

const NOTHING: Seen = { user: undefined, key: undefined, values: {} }

/** The session of `token` is gone: the store has nothing under its key, and its next request finds nothing. */
const assertGone = async (w: World, l: Login, what: string) => {
  assert.equal(await w.load(l.key), undefined, `${what}: loadSession finds nothing`)
  assert.equal(await w.raw(l.key), undefined, `${what}: the store holds nothing under its key`)
  const next = await visit(w, l.token)
  assert.deepEqual(next.seen, NOTHING, `${what}: its next request finds nothing`)
  assert.deepEqual(next.outcome, { _tag: "Unchanged" }, `${what}: and sets no cookie`)
}

/** `list(user)` is exactly `logins`, in that order, with the times and info each login gives. */
const assertListed = async (w: World, user: string, logins: ReadonlyArray<Login>, lifetime = DEFAULT_LIFETIME) => {
  const listed = await w.list(user)
  assert.deepEqual(listed.map((s) => s.key), logins.map((l) => l.key), `the sessions listed for ${user}`)
  for (const [i, s] of listed.entries()) {
    const l = logins[i]!
    assert.equal(s.userId, user)
    assert.deepEqual(s.info, l.info)
    assert.ok(!Object.values(s).includes(l.token), "a listed session never shows its token")
    within(w, `${user}'s session ${i} createdAt`, s.createdAt, l.before, l.after)
    within(w, `${user}'s session ${i} lastSeenAt`, s.lastSeenAt, l.before, l.after)
    const deadline = l.deadline ?? s.createdAt! + lifetime
    within(w, `${user}'s session ${i} expiresAt`, s.expiresAt, deadline, deadline)
  }
  return listed
}

/** A request with `token` sets `name`; it commits with a cookie of the same token. */
const write = async (w: World, token: string, name: string, value: string) => {
  const request = w.begin(token)
  await request.read()
  await request.set(name, value)
  assert.deepEqual(await request.commit(), { _tag: "SetCookie", token })
}

/** A request with exactly `token` as the session cookie (none when `undefined`). */
const call = (w: World, path: string, token?: string): Promise<Reply> =>
  new FetchJar(w.base).fetch(path, { cookie: token === undefined ? "" : `session=${token}` })

const tokenSet = (reply: Reply): string | undefined => {
  const found = reply.setCookies.map((line) => /^session=([^;]+)/.exec(line)?.[1]).filter((t) => t !== undefined)
  assert.ok(found.length <= 1, `at most one session cookie: ${JSON.stringify(reply.setCookies)}`)
  return found[0]
}

const httpLogin = async (w: World, user: string, agent: string) => {
  const reply = await call(w, `/login?user=${user}&agent=${encodeURIComponent(agent)}`)
  assert.equal(reply.status, 200)
  const token = tokenSet(reply)
  assert.ok(token !== undefined, "the login sets a cookie")
  return token
}

const httpRead = async (w: World, token: string) => {
  const reply = await call(w, "/read", token)
  assert.equal(reply.status, 200)
  return { reply, seen: JSON.parse(reply.body) as { user: string | null; key: string | null; values: object } }
}

const userOf = (i: number) => `user-${String(i).padStart(4, "0")}`

// ---------------------------------------------------------------------------------------------------------------
// the scenarios (the numbers are the brief's list)

const USERS = 1_000
const PER_USER = 5

export const userSessionsScenarios: ReadonlyArray<Scenario> = [
  {
    name:
      "1. 1,000 users with 5 sessions each: one user's list is exactly its 5 sessions; revoking them (but one, then " +
      "all) leaves the other 4,995 loadable and untouched",
    // 5,000 logins of two store writes each (the index, then the session): on FileStore the world keeps the default
    // sync ("everysec", which a TestClock never fires), since "always" would fsync 10,000 times; scenario 4 runs
    // FileStore with "always"
    timeout: 120_000,
    run: async (w) => {
      const users = Array.from({ length: USERS }, (_, i) => userOf(i))
      // round r logs every user in once (many users at a time); a user's own logins are rounds apart, in order
      const byUser = new Map<string, Array<Login>>(users.map((u) => [u, []]))
      for (let round = 0; round < PER_USER; round++) {
        if (round > 0) await w.wait(w.clock === "test" ? 1_000 : 0)
        const logins = await pool(users, 32, (user) => login(w, user, { agent: `browser ${round}`, device: user }))
        for (const l of logins) byUser.get(l.user)!.push(l)
      }
      const all = Array.from(byUser.values()).flat()
      assert.equal(new Set(all.map((l) => l.key)).size, USERS * PER_USER)
      assert.equal(await w.load(UserIndex.indexKey(userOf(0))), undefined, "a user's index is not a session")

      const target = userOf(500)
      const mine = byUser.get(target)!
      await assertListed(w, target, mine)
      for (const neighbour of [userOf(499), userOf(501), userOf(0), userOf(USERS - 1)]) {
        await assertListed(w, neighbour, byUser.get(neighbour)!)
      }

      // a later write to one session moves its lastSeenAt, not its createdAt
      await w.wait(w.clock === "test" ? 5_000 : 20)
      const writeBefore = await w.now()
      await write(w, mine[2]!.token, "visited", "yes")
      const writeAfter = await w.now()
      const listed = await w.list(target)
      within(w, "lastSeenAt after a write", listed[2]!.lastSeenAt, writeBefore, writeAfter)
      within(w, "createdAt after a write", listed[2]!.createdAt, mine[2]!.before, mine[2]!.after)
      assert.ok(listed[2]!.lastSeenAt! > listed[2]!.createdAt!, "lastSeenAt moved past createdAt")

      // what every other session looks like, in the store and through loadSession, before the revocations
      const others = all.filter((l) => l.user !== target)
      const snapshot = await pool(others, 64, (l) => snapshotOf(w, l.key))
      for (const [i, s] of snapshot.entries()) {
        assert.ok(s.raw !== undefined && s.loaded !== undefined, `${others[i]!.user}'s session is there`)
        assert.equal(s.loaded.userId, others[i]!.user)
        assert.deepEqual(s.loaded.values, { owner: others[i]!.user })
      }

      // revoke all but the third: four end, the third stays as it was
      const kept = mine[2]!
      assert.equal(await w.revokeAll(target, kept.key), PER_USER - 1)
      assertSameListing(w, await w.list(target), [listed[2]!], "the session kept")
      for (const l of mine) if (l !== kept) await assertGone(w, l, `${target}'s revoked session`)
      const keptSeen = await visit(w, kept.token)
      assert.deepEqual(keptSeen.seen, { user: target, key: kept.key, values: { owner: target, visited: "yes" } })

      // the other 4,995 are untouched: same version and expiry in the store, same record through loadSession
      const afterwards = await pool(others, 64, (l) => snapshotOf(w, l.key))
      for (const [i, s] of afterwards.entries()) assertUntouched(w, s, snapshot[i]!, `${others[i]!.user}'s session`)
      // the sessions stream holds exactly the live sessions (the users' index entries are not sessions)
      const stream = await w.sessions()
      assert.deepEqual(
        stream.map((s) => s.key).sort(),
        [...others.map((l) => l.key), kept.key].sort(),
        "sessions lists exactly the live sessions"
      )

      // revoke all: the kept one ends too; a second revoke-all finds nothing
      assert.equal(await w.revokeAll(target), 1)
      assert.deepEqual(await w.list(target), [])
      await assertGone(w, kept, `${target}'s last session`)
      assert.equal(await w.revokeAll(target), 0)
      assert.equal((await w.sessions()).length, others.length)

      // revokeSession ends one session of another user, once
      const one = byUser.get(userOf(1))!
      assert.equal(await w.revokeSession(one[0]!.key), true)
      assert.equal(await w.revokeSession(one[0]!.key), false)
      await assertGone(w, one[0]!, "a session revoked by key")
      await assertListed(w, userOf(1), one.slice(1))
      // the target can log in again: a revocation is not a ban
      const again = await login(w, target)
      await assertListed(w, target, [again])
    }
  },
  {
    name: "2. revoke-all while requests of the revoked sessions are in flight (loaded before, writing after): their " +
      "commits resurrect nothing and set no cookie; their next requests find nothing; another user's are unaffected",
    options: () => ({ idleTimeout: 1_800_000, touchAfter: 0 }),
    run: async (w) => {
      const [s1, s2, s3] = [await login(w, "ann"), await login(w, "ann"), await login(w, "ann")]
      const viaHttp = await httpLogin(w, "ann", "ann's phone")
      const httpRenew = await httpLogin(w, "ann", "ann's tablet")
      const bob = await login(w, "bob")
      const bobViaHttp = await httpLogin(w, "bob", "bob's phone")
      assert.equal((await w.list("ann")).length, 5)

      // requests through SessionManager.begin, each loaded before the revocation
      const writer = w.begin(s1.token)
      const renewer = w.begin(s2.token)
      const reader = w.begin(s3.token)
      const bobs = w.begin(bob.token)
      for (const r of [writer, renewer, reader]) assert.equal((await r.read()).user, "ann")
      assert.equal((await bobs.read()).user, "bob")
      // requests through the HTTP server, waiting at a gate after loading their session
      const httpWrite = call(w, "/set?k=cart&v=socks&gate=ann-write", viaHttp)
      const httpRenewing = call(w, "/renew?gate=ann-renew", httpRenew)
      const httpBob = call(w, "/set?k=cart&v=shoes&gate=bob-write", bobViaHttp)
      const held = ["ann-write", "ann-renew", "bob-write"]
      await Promise.all(held.map((g) => w.gates.arrived(g)))
      try {
        assert.equal(await w.revokeAll("ann"), 5)
        assert.deepEqual(await w.list("ann"), [])

        // the in-flight requests go on: they write, renew, or (read-only) extend the idle timeout at commit
        await w.wait(w.clock === "test" ? 1_000 : 50)
        await writer.set("cart", "hat")
        await renewer.renew()
        await renewer.set("cart", "scarf")
        await bobs.set("cart", "boots")
        assert.deepEqual(await writer.commit(), { _tag: "Unchanged" }, "the writer's commit sets no cookie")
        assert.deepEqual(await renewer.commit(), { _tag: "Unchanged" }, "the renewer's commit sets no cookie")
        assert.deepEqual(await reader.commit(), { _tag: "Unchanged" }, "the reader's commit sets no cookie")
        assert.deepEqual(await bobs.commit(), { _tag: "SetCookie", token: bob.token }, "bob's request is saved")
      } finally {
        // (also when an assertion failed: a request held at a gate would hold the server's shutdown)
        for (const g of held) w.gates.release(g)
      }
      const [annWrote, annRenewed, bobWrote] = await Promise.all([httpWrite, httpRenewing, httpBob])
      for (const [what, reply] of [["write", annWrote], ["renew", annRenewed]] as const) {
        assert.equal(reply.status, 200, `ann's in-flight HTTP ${what}`)
        assert.deepEqual(reply.setCookies, [], `ann's in-flight HTTP ${what} sets no cookie at all`)
      }
      assert.equal(bobWrote.status, 200)
      assert.equal(tokenSet(bobWrote), bobViaHttp, "bob's in-flight HTTP write sets his cookie")

      // nothing of ann's came back: not under the old keys, not under a renewed one
      assert.deepEqual(await w.list("ann"), [])
      for (const l of [s1, s2, s3]) await assertGone(w, l, "ann's session revoked in flight")
      for (const token of [viaHttp, httpRenew]) {
        const { reply, seen } = await httpRead(w, token)
        assert.deepEqual(seen, { user: null, key: null, values: {} }, "its next request finds nothing")
        assert.deepEqual(reply.setCookies, [])
        assert.equal(await w.raw(storeKey(token)), undefined)
      }
      const live = await w.sessions()
      assert.deepEqual(live.filter((s) => s.userId !== "bob"), [], "no session of ann is left in the store")

      // bob's sessions kept their writes
      const bobList = await w.list("bob")
      assert.deepEqual(bobList.map((s) => s.key).sort(), [bob.key, storeKey(bobViaHttp)].sort())
      assert.deepEqual((await visit(w, bob.token)).seen.values, { owner: "bob", cart: "boots" })
      assert.deepEqual((await httpRead(w, bobViaHttp)).seen.values, { owner: "bob", cart: "shoes" })
    }
  },
  {
    name: "3a. sessions past their deadline disappear from the list, and so does the index of a user with none left",
    run: async (w) => {
      const U = unit(w.clock)
      const ann = [
        await login(w, "ann", undefined, 2 * U),
        await login(w, "ann", undefined, 4 * U),
        await login(w, "ann")
      ]
      const cy = [await login(w, "cy", undefined, 2 * U), await login(w, "cy", undefined, 4 * U)]
      const start = ann[0]!.before
      await assertListed(w, "ann", ann)
      await assertListed(w, "cy", cy)

      await w.wait(start + 3 * U - (await w.now()))
      await assertListed(w, "ann", ann.slice(1))
      await assertListed(w, "cy", cy.slice(1))
      assert.equal(await w.load(ann[0]!.key), undefined)
      assert.notEqual(await w.raw(UserIndex.indexKey("cy")), undefined, "cy's index lives while a session does")

      await w.wait(start + 5 * U - (await w.now()))
      await assertListed(w, "ann", ann.slice(2))
      await assertListed(w, "cy", [])
      assert.deepEqual((await w.sessions()).map((s) => s.key), [ann[2]!.key])
      assert.equal(await w.raw(UserIndex.indexKey("cy")), undefined, "cy's index expired with cy's last session")
      for (const l of [...ann.slice(0, 2), ...cy]) assert.deepEqual((await visit(w, l.token)).seen, NOTHING)
    }
  },
  {
    name: "3b. with an idle timeout, an idle session disappears from the list; a used one stays, last seen when used",
    options: (clock) => ({ idleTimeout: 3 * unit(clock), touchAfter: 0 }),
    run: async (w) => {
      const U = unit(w.clock)
      const [used, idle] = [await login(w, "ann"), await login(w, "ann")]
      await w.wait(used.before + 2 * U - (await w.now()))
      const touchBefore = await w.now()
      const { outcome, seen } = await visit(w, used.token)
      const touchAfter = await w.now()
      assert.equal(seen.user, "ann")
      assert.deepEqual(outcome, { _tag: "SetCookie", token: used.token }, "a read-only request extends it")
      await w.wait(used.before + 4 * U - (await w.now()))

      const listed = await w.list("ann")
      assert.deepEqual(listed.map((s) => s.key), [used.key], "the idle session is gone from the list")
      within(w, "createdAt", listed[0]!.createdAt, used.before, used.after)
      within(w, "lastSeenAt (the idle extension)", listed[0]!.lastSeenAt, touchBefore, touchAfter)
      within(w, "expiresAt", listed[0]!.expiresAt, touchBefore + 3 * U, touchAfter + 3 * U)
      assert.deepEqual((await visit(w, idle.token)).seen, NOTHING)
    }
  },
  {
    name: "4. FileStore keeps users' sessions across restarts and a compaction (list, revoke-all, revocations)",
    engines: ["FileStore"],
    // a compaction at any size: the explicit one below, and automatic ones while the log grows
    fileStore: { sync: "always", compaction: { minSize: 0 } },
    run: async (w) => {
      const file = w.file!
      const users = Array.from({ length: 20 }, (_, i) => userOf(i))
      const byUser = new Map<string, Array<Login>>()
      for (const user of users) {
        byUser.set(user, [await login(w, user), await login(w, user), await login(w, user)])
      }
      // history in the log: a renew (the binding moves to the new key), a destroy, a revocation, a move to another
      // user, and a user revoked entirely
      const renewing = w.begin(byUser.get(userOf(0))![0]!.token)
      await renewing.read()
      await renewing.renew()
      const renewed = await renewing.commit()
      assert.equal(renewed._tag, "SetCookie")
      const destroying = w.begin(byUser.get(userOf(1))![0]!.token)
      await destroying.read()
      await destroying.destroy()
      assert.deepEqual(await destroying.commit(), { _tag: "ExpireCookie" })
      assert.equal(await w.revokeSession(byUser.get(userOf(2))![0]!.key), true)
      const moving = w.begin(byUser.get(userOf(3))![0]!.token)
      await moving.read()
      await moving.setUser(userOf(4), { agent: "moved" })
      assert.equal((await moving.commit())._tag, "SetCookie")
      assert.equal(await w.revokeAll(userOf(5)), 3)

      const snapshot = async () => new Map(await Promise.all(users.map(async (u) => [u, await w.list(u)] as const)))
      const before = await snapshot()
      assert.deepEqual(before.get(userOf(0))!.map((s) => s.key).slice(-1), [
        storeKey((renewed as { token: string }).token)
      ])
      assert.equal(before.get(userOf(1))!.length, 2)
      assert.equal(before.get(userOf(2))!.length, 2)
      assert.equal(before.get(userOf(3))!.length, 2)
      assert.equal(before.get(userOf(4))!.length, 4)
      assert.equal(before.get(userOf(5))!.length, 0)

      await file.restart()
      assert.deepEqual(await snapshot(), before, "the lists are the same after a restart")

      // many writes (the log grows past twice the live data), then a compaction
      for (let i = 0; i < 10; i++) {
        for (const user of users.slice(6)) await write(w, byUser.get(user)![0]!.token, "n", String(i))
      }
      const grown = await snapshot()
      await file.compact()
      assert.equal(await file.logSize(), await file.liveSize(), "the log holds only the live entries")
      assert.deepEqual(await snapshot(), grown, "the lists are the same after a compaction")
      await file.restart()
      assert.deepEqual(await snapshot(), grown, "and after a restart from the compacted log")

      // the bindings still work: revoke-all finds every session of a user, and the revocation survives a restart
      assert.equal(await w.revokeAll(userOf(6)), 3)
      assert.equal(await w.revokeAll(userOf(4), grown.get(userOf(4))![0]!.key), 3)
      await file.restart()
      assert.deepEqual(await w.list(userOf(6)), [])
      assert.deepEqual(await w.list(userOf(4)), grown.get(userOf(4))!.slice(0, 1))
      for (const l of byUser.get(userOf(6))!) await assertGone(w, l, "a session revoked before a restart")
      assert.deepEqual(await w.list(userOf(7)), grown.get(userOf(7)))
    }
  },
  {
    name:
      "5. renew keeps the binding under the new key; setUser again (with or without renew) moves it; destroy unbinds it",
    run: async (w) => {
      const token = await httpLogin(w, "ann", "firefox")
      const listed = await w.list("ann")
      assert.deepEqual(listed.map((s) => s.key), [storeKey(token)])
      assert.deepEqual(listed[0]!.info, { agent: "firefox" })
      const renewed = tokenSet(await call(w, "/renew", token))!
      assert.notEqual(renewed, token)
      assert.deepEqual((await w.list("ann")).map((s) => s.key), [storeKey(renewed)])
      assert.deepEqual((await w.list("ann"))[0]!.info, { agent: "firefox" }, "the info follows the renew")
      const { seen } = await httpRead(w, renewed)
      assert.deepEqual(seen, { user: "ann", key: storeKey(renewed), values: { owner: "ann" } })

      const moved = tokenSet(await call(w, "/login?user=bob&agent=chrome", renewed))!
      assert.deepEqual(await w.list("ann"), [], "logging in as bob moved the session off ann")
      assert.deepEqual((await w.list("bob")).map((s) => s.key), [storeKey(moved)])

      // setUser alone (no renew) moves the session under the same key
      const rebinding = w.begin(moved)
      await rebinding.read()
      await rebinding.setUser("cy", { agent: "safari" })
      assert.deepEqual(await rebinding.commit(), { _tag: "SetCookie", token: moved })
      assert.deepEqual(await w.list("bob"), [], "setUser moved the session off bob")
      const cys = await w.list("cy")
      assert.deepEqual(cys.map((s) => [s.key, s.info]), [[storeKey(moved), { agent: "safari" }]])
      assert.equal(await w.revokeAll("bob"), 0, "revoking bob's sessions does not end cy's")
      assert.deepEqual((await visit(w, moved)).seen.user, "cy")

      const request = w.begin(moved)
      await request.read()
      await request.destroy()
      assert.deepEqual(await request.commit(), { _tag: "ExpireCookie" })
      assert.deepEqual(await w.list("cy"), [])
      assert.deepEqual(await w.sessions(), [])
    }
  },
  {
    name:
      `6. a user with more sessions than the index compacts at (${UserIndex.COMPACT_AT}): every live one is listed ` +
      "and revoked; the ended ones are dropped",
    run: async (w) => {
      // on the TestClock, logins a prune delay apart: adding to a full index then checks its members' sessions
      const step = w.clock === "test" ? UserIndex.PRUNE_AFTER + 1 : 0
      const logins: Array<Login> = []
      const ended: Array<Login> = []
      for (let i = 0; i < UserIndex.COMPACT_AT + 8; i++) {
        await w.wait(step)
        const l = await login(w, "ann", { agent: `device ${i}` })
        if (i % 4 === 1) {
          // a logout right after
          const request = w.begin(l.token)
          await request.read()
          await request.destroy()
          assert.deepEqual(await request.commit(), { _tag: "ExpireCookie" })
          ended.push(l)
        } else logins.push(l)
      }
      await assertListed(w, "ann", logins)
      assert.equal(await w.revokeAll("ann"), logins.length)
      assert.deepEqual(await w.list("ann"), [])
      for (const l of [...logins, ...ended]) assert.equal(await w.raw(l.key), undefined)
    }
  },
  {
    name: "7. twenty logins of one user at once (each adding to the same index) are all listed, and all revoked",
    // (their index writes conflict on FileStore and Redis, whose operations suspend; a MemStore commit runs through)
    run: async (w) => {
      const logins = await Promise.all(Array.from({ length: 20 }, (_, i) => login(w, "ann", { agent: `tab ${i}` })))
      const listed = await w.list("ann")
      assert.deepEqual(listed.map((s) => s.key).sort(), logins.map((l) => l.key).sort())
      assert.equal(await w.revokeAll("ann"), 20)
      for (const l of logins) await assertGone(w, l, "a session logged in concurrently")
    }
  }
]

// ---------------------------------------------------------------------------------------------------------------
// examples/login.ts: "my sessions" and "sign out other devices", over HTTP (`cwd`: the folder whose `examples/`
// holds it)

interface DeviceSession {
  readonly key: string
  readonly current: boolean
  readonly agent: string
  readonly createdAt: string | null
  readonly lastSeenAt: string | null
  readonly expiresAt: string
}

const exampleLogin = (jar: FetchJar, agent: string) =>
  jar.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": agent },
    body: JSON.stringify({ username: "alice", password: "wonderland" })
  })

const mySessions = async (jar: FetchJar): Promise<ReadonlyArray<DeviceSession>> => {
  const reply = await jar.fetch("/sessions")
  assert.equal(reply.status, 200, reply.body)
  return JSON.parse(reply.body)
}

export const loginExample = (cwd?: string) =>
  launchExample("examples/login.ts", { SESSION_STORE: "memory" }, "/whoami", cwd).then(async ({ base, child }) => {
    try {
      const stranger = new FetchJar(base)
      assert.equal((await stranger.fetch("/sessions")).status, 401)
      assert.equal((await stranger.fetch("/sessions/sign-out-others", { method: "POST" })).status, 401)

      const devices = ["laptop", "phone", "tablet"].map((agent) => ({ agent, jar: new FetchJar(base) }))
      for (const { agent, jar } of devices) assert.equal((await exampleLogin(jar, agent)).status, 200)
      const phone = devices[1]!
      const t0 = Date.now()
      const listed = await mySessions(phone.jar)
      assert.deepEqual(listed.map((s) => s.agent), ["laptop", "phone", "tablet"], "oldest first, with each agent")
      assert.deepEqual(listed.map((s) => s.current), [false, true, false], "the phone's own session is marked")
      for (const [i, s] of listed.entries()) {
        assert.equal(s.key, storeKey(devices[i]!.jar.get("session")!))
        assert.ok(!JSON.stringify(s).includes(devices[i]!.jar.get("session")!), "never the token")
        assert.ok(s.createdAt !== null && s.lastSeenAt !== null)
        assert.ok(Date.parse(s.lastSeenAt) >= Date.parse(s.createdAt))
        // the example's idle timeout is 30 minutes
        const expiresIn = Date.parse(s.expiresAt) - t0
        assert.ok(expiresIn > 29 * 60_000 && expiresIn <= 30 * 60_000, `expires in ${expiresIn} ms`)
      }
      assert.deepEqual((await mySessions(devices[0]!.jar)).map((s) => s.current), [true, false, false])

      const signOut = await phone.jar.fetch("/sessions/sign-out-others", { method: "POST" })
      assert.equal(signOut.status, 200)
      assert.deepEqual(JSON.parse(signOut.body), { signedOut: 2 })
      for (const device of [devices[0]!, devices[2]!]) {
        assert.equal((await device.jar.fetch("/whoami")).status, 401, `the ${device.agent} is signed out`)
        assert.equal((await device.jar.fetch("/sessions")).status, 401)
      }
      assert.equal((await phone.jar.fetch("/whoami")).status, 200, "the phone stays signed in")
      const remaining = await mySessions(phone.jar)
      assert.deepEqual(remaining.map((s) => [s.agent, s.current]), [["phone", true]])
      assert.deepEqual(JSON.parse((await phone.jar.fetch("/sessions/sign-out-others", { method: "POST" })).body), {
        signedOut: 0
      })

      // a new device shows up in the phone's list; logging out removes it
      const desktop = new FetchJar(base)
      await exampleLogin(desktop, "desktop")
      assert.deepEqual((await mySessions(phone.jar)).map((s) => s.agent), ["phone", "desktop"])
      assert.equal((await desktop.fetch("/logout", { method: "POST" })).status, 204)
      assert.deepEqual((await mySessions(phone.jar)).map((s) => s.agent), ["phone"])
    } finally {
      await stopProcess(child)
    }
  })
