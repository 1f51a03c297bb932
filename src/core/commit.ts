/**
 * The commit decision: given the state of a request's session at the end of the request, what to write to the
 * store and which cookie to send. A pure function, so that every case can be checked in a table
 * (`test/core/commit.test.ts`); both lines' `Session` run the plan it returns.
 *
 * @internal
 */

/**
 * - `unmodified`: nothing to write (no `Set-Cookie`).
 * - `modified`: the session is saved and its cookie sent at commit.
 * - `destroyed`: the store entry was deleted and a deletion cookie is sent at commit.
 *
 * @internal
 */
export type Status = "unmodified" | "modified" | "destroyed"

/**
 * What the commit decided the response must carry.
 *
 * @internal
 */
export type CommitResult =
  | { readonly _tag: "Unchanged" }
  | {
    readonly _tag: "SetCookie"
    readonly token: string
    /** Whole seconds to expiry, rounded up; `undefined` for a browser-session cookie. */
    readonly maxAge: number | undefined
    readonly expires: Date | undefined
  }
  | { readonly _tag: "ExpireCookie" }

/** What the decision reads of a session (`SessionState` has these fields). @internal */
export interface CommitInput {
  readonly status: Status
  /** Whether the stored session has been read. */
  readonly loaded: boolean
  /**
   * Whether reading the stored session failed earlier in the request (already reported): the commit does not read
   * it again. Absent means `false`.
   */
  readonly loadFailed?: boolean | undefined
  /** Whether the request carried a session cookie at all (well-formed or not). */
  readonly hadCookie: boolean
  /** The cookie's value when it has the shape of a token. */
  readonly cookieToken: string | undefined
  /** The token of the stored session in use; `undefined` for a new (or renewed) session not saved yet. */
  readonly token: string | undefined
  /** The absolute deadline, epoch milliseconds. */
  readonly deadline: number
  readonly rememberMe: boolean
  readonly config: {
    /** Milliseconds; `undefined` for no idle timeout. */
    readonly idleTimeout: number | undefined
    /** Whether cookies carry `Max-Age`/`Expires` without `rememberMe`. */
    readonly persist: boolean
  }
}

/**
 * - `Nothing`: no store I/O, no cookie.
 * - `Load`: an idle timeout and a cookie, but the handler never read the session: load it (the request still counts
 *   as activity), then decide again. Not when the handler's read failed: that failure was reported once already,
 *   and a store that just failed is not asked again.
 * - `End`: delete `deleteToken` from the store (when set) and, when `expireCookie`, send a deletion cookie.
 * - `Save`: save the record under `token` (a new token when `undefined`) until `expiry`, and send its cookie.
 *
 * `optional` marks the work of a session the handler did not change (an idle-timeout extension): when it fails,
 * the failure is logged and the response goes out without a cookie, instead of failing.
 *
 * @internal
 */
export type Plan =
  | { readonly _tag: "Nothing" }
  | { readonly _tag: "Load" }
  | {
    readonly _tag: "End"
    readonly deleteToken: string | undefined
    readonly expireCookie: boolean
    readonly optional: boolean
  }
  | {
    readonly _tag: "Save"
    readonly token: string | undefined
    readonly expiry: number
    /** Whether the cookie outlives the browser session (carries `Max-Age` and `Expires`). */
    readonly persistent: boolean
    readonly optional: boolean
  }

const NOTHING: Plan = { _tag: "Nothing" }
const LOAD: Plan = { _tag: "Load" }

/** When the record expires: the deadline, or the idle timeout from now when that comes first. @internal */
export const expiryAt = (input: CommitInput, now: number): number =>
  input.config.idleTimeout === undefined ? input.deadline : Math.min(input.deadline, now + input.config.idleTimeout)

/** The commit decision. @internal */
export const decide = (input: CommitInput, now: number): Plan => {
  switch (input.status) {
    case "destroyed":
      // Only expire a cookie the request carried. A request without one (such as a cross-site form POST, which
      // SameSite=Lax strips of the cookie) must not delete the browser's cookie: its response may still set
      // cookies, and an unconditional deletion would let any site log users out.
      return input.hadCookie ? { _tag: "End", deleteToken: undefined, expireCookie: true, optional: false } : NOTHING
    case "modified":
      return write(input, now, false)
    case "unmodified":
      // with an idle timeout, a request carrying a live session's cookie pushes its expiry back
      if (input.config.idleTimeout === undefined || input.cookieToken === undefined) return NOTHING
      if (!input.loaded) return input.loadFailed === true ? NOTHING : LOAD
      return input.token === undefined ? NOTHING : write(input, now, true)
  }
}

const write = (input: CommitInput, now: number, optional: boolean): Plan => {
  const expiry = expiryAt(input, now)
  if (expiry <= now) {
    // the deadline has passed (or was moved into the past): the session is over
    return input.token === undefined && !input.hadCookie
      ? NOTHING
      : { _tag: "End", deleteToken: input.token, expireCookie: input.hadCookie, optional }
  }
  return {
    _tag: "Save",
    token: input.token,
    expiry,
    persistent: input.config.persist || input.rememberMe,
    optional
  }
}

/** @internal */
export const UNCHANGED: CommitResult = { _tag: "Unchanged" }

/** What the response carries once an `End` plan has run. @internal */
export const ended = (plan: Extract<Plan, { _tag: "End" }>): CommitResult =>
  plan.expireCookie ? { _tag: "ExpireCookie" } : UNCHANGED

/** What the response carries once a `Save` plan has saved the session under `token` at `now`. @internal */
export const saved = (plan: Extract<Plan, { _tag: "Save" }>, token: string, now: number): CommitResult => ({
  _tag: "SetCookie",
  token,
  maxAge: plan.persistent ? Math.ceil((plan.expiry - now) / 1000) : undefined,
  expires: plan.persistent ? new Date(plan.expiry) : undefined
})
