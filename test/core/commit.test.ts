/**
 * The commit decision as a truth table: for each state a session can be in at the end of a request, what is
 * written to the store and which cookie is sent.
 */
import { assert, describe, it } from "vitest"
import { type CommitInput, decide, ended, type Plan, saved, type Status } from "../../src/core/commit.js"

const NOW = 1_000_000
const HOUR = 3_600_000
const TOKEN = "T".repeat(43)

const input = (overrides: Partial<Omit<CommitInput, "config">> & Partial<CommitInput["config"]> = {}): CommitInput => {
  const { idleTimeout, persist, ...rest } = overrides
  return {
    status: "unmodified",
    loaded: true,
    hadCookie: true,
    cookieToken: TOKEN,
    token: TOKEN,
    deadline: NOW + 24 * HOUR,
    rememberMe: false,
    ...rest,
    config: { idleTimeout, persist: persist ?? true }
  }
}

interface Row {
  readonly name: string
  readonly input: CommitInput
  readonly plan: Plan
}

const nothing: Plan = { _tag: "Nothing" }
const save = (token: string | undefined, expiry: number, persistent = true, optional = false): Plan => ({
  _tag: "Save",
  token,
  expiry,
  persistent,
  optional
})
const end = (deleteToken: string | undefined, expireCookie: boolean, optional = false): Plan => ({
  _tag: "End",
  deleteToken,
  expireCookie,
  optional
})

const table: ReadonlyArray<Row> = [
  // unmodified
  { name: "unmodified, no idle timeout", input: input(), plan: nothing },
  { name: "unmodified, no cookie", input: input({ hadCookie: false, cookieToken: undefined }), plan: nothing },
  {
    name: "unmodified, idle timeout, malformed cookie (never looked up)",
    input: input({ idleTimeout: HOUR, cookieToken: undefined, loaded: false }),
    plan: nothing
  },
  {
    name: "unmodified, idle timeout, cookie, not loaded: load it first",
    input: input({ idleTimeout: HOUR, loaded: false }),
    plan: { _tag: "Load" }
  },
  {
    name: "unmodified, idle timeout, cookie, the handler's read failed: not read again",
    input: input({ idleTimeout: HOUR, loaded: false, loadFailed: true }),
    plan: nothing
  },
  {
    name: "unmodified, idle timeout, loaded, the token found nothing",
    input: input({ idleTimeout: HOUR, token: undefined }),
    plan: nothing
  },
  {
    name: "unmodified, idle timeout, loaded live session: extend (optional)",
    input: input({ idleTimeout: HOUR }),
    plan: save(TOKEN, NOW + HOUR, true, true)
  },
  {
    name: "unmodified, idle timeout past the deadline: the deadline wins",
    input: input({ idleTimeout: HOUR, deadline: NOW + 60_000 }),
    plan: save(TOKEN, NOW + 60_000, true, true)
  },
  {
    name: "unmodified, idle timeout, the deadline passed since the load: end it (optional)",
    input: input({ idleTimeout: HOUR, deadline: NOW }),
    plan: end(TOKEN, true, true)
  },
  // modified
  {
    name: "modified, new session",
    input: input({ status: "modified", token: undefined, hadCookie: false, cookieToken: undefined }),
    plan: save(undefined, NOW + 24 * HOUR)
  },
  { name: "modified, stored session", input: input({ status: "modified" }), plan: save(TOKEN, NOW + 24 * HOUR) },
  {
    name: "modified, renewed (token dropped)",
    input: input({ status: "modified", token: undefined }),
    plan: save(undefined, NOW + 24 * HOUR)
  },
  {
    name: "modified with an idle timeout: expires at the idle timeout",
    input: input({ status: "modified", idleTimeout: HOUR }),
    plan: save(TOKEN, NOW + HOUR)
  },
  {
    name: "modified, persist: false: a browser-session cookie",
    input: input({ status: "modified", persist: false }),
    plan: save(TOKEN, NOW + 24 * HOUR, false)
  },
  {
    name: "modified, persist: false, rememberMe: persistent",
    input: input({ status: "modified", persist: false, rememberMe: true }),
    plan: save(TOKEN, NOW + 24 * HOUR, true)
  },
  {
    name: "modified, deadline moved to now: delete and expire the cookie",
    input: input({ status: "modified", deadline: NOW }),
    plan: end(TOKEN, true)
  },
  {
    name: "modified, deadline in the past, no cookie in the request: delete, no cookie",
    input: input({ status: "modified", deadline: NOW - 1, hadCookie: false, cookieToken: undefined }),
    plan: end(TOKEN, false)
  },
  {
    name: "modified new session whose deadline is already past: nothing at all",
    input: input({
      status: "modified",
      deadline: NOW - 1,
      token: undefined,
      hadCookie: false,
      cookieToken: undefined
    }),
    plan: nothing
  },
  // destroyed
  {
    name: "destroyed, with the cookie: expire it",
    input: input({ status: "destroyed", token: undefined }),
    plan: end(undefined, true)
  },
  {
    name: "destroyed, malformed cookie: still the browser's session cookie, expire it",
    input: input({ status: "destroyed", token: undefined, cookieToken: undefined }),
    plan: end(undefined, true)
  },
  {
    name: "destroyed, no cookie (a cross-site POST): send no deletion",
    input: input({ status: "destroyed", token: undefined, hadCookie: false, cookieToken: undefined }),
    plan: nothing
  }
]

describe("commit decision", () => {
  for (const row of table) {
    it(row.name, () => {
      assert.deepStrictEqual(decide(row.input, NOW), row.plan)
    })
  }

  it("covers every status", () => {
    const statuses = new Set<Status>(table.map((row) => row.input.status))
    assert.deepStrictEqual([...statuses].sort(), ["destroyed", "modified", "unmodified"])
  })
})

describe("commit results", () => {
  it("a saved persistent session: Max-Age in whole seconds rounded up, Expires at the expiry", () => {
    const plan = save(TOKEN, NOW + 1_500, true) as Extract<Plan, { _tag: "Save" }>
    assert.deepStrictEqual(saved(plan, "new", NOW), {
      _tag: "SetCookie",
      token: "new",
      maxAge: 2,
      expires: new Date(NOW + 1_500)
    })
  })

  it("a saved browser-session cookie carries neither", () => {
    const plan = save(TOKEN, NOW + HOUR, false) as Extract<Plan, { _tag: "Save" }>
    assert.deepStrictEqual(saved(plan, TOKEN, NOW), {
      _tag: "SetCookie",
      token: TOKEN,
      maxAge: undefined,
      expires: undefined
    })
  })

  it("an ended session expires the cookie only when asked", () => {
    assert.deepStrictEqual(ended(end(TOKEN, true) as Extract<Plan, { _tag: "End" }>), { _tag: "ExpireCookie" })
    assert.deepStrictEqual(ended(end(TOKEN, false) as Extract<Plan, { _tag: "End" }>), { _tag: "Unchanged" })
  })
})
