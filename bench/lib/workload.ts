/**
 * The store-level workload, identical for every subject: `sessions` sessions of about 200 bytes, then `ops`
 * operations on random sessions, 80% reads and 20% writes, in a fixed pseudo-random order.
 *
 * Every side serializes the same session values its own way:
 * - ours: the session codec (`src/core/codec.ts`: a version byte, then JSON of deadline, expiry and values),
 * - express-session stores: the store's `JSON.stringify` of the session object express-session hands them (the
 *   values plus the `cookie` object),
 * - the ceilings: `JSON.stringify` of the values alone.
 *
 * It imports no Effect: the Effect 4 children (on Node 22) build the same workload from the same seed.
 */
import * as Codec from "../../src/core/codec.js"

/** A small, fast, seeded PRNG (mulberry32), so every subject gets the same sessions and the same operations. */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A session token like ours (32 random bytes, base64url: 43 characters), from the PRNG. */
export const makeToken = (random: () => number): string => {
  const bytes = Buffer.allocUnsafe(32)
  for (let i = 0; i < 32; i++) bytes[i] = Math.floor(random() * 256)
  return bytes.toString("base64url")
}

/** The values of session `i`: a typical logged-in session (about 150 bytes of JSON). */
export const sessionValues = (i: number): Record<string, unknown> => ({
  userId: `user-${String(100_000 + i).padStart(8, "0")}`,
  name: "Ada Lovelace",
  roles: ["editor", "viewer"],
  csrf: `c${String(i * 7919).padStart(21, "0")}`,
  cart: [{ sku: "SKU-1042", qty: 2 }, { sku: "SKU-2077", qty: 1 }]
})

export const DAY_MS = 24 * 60 * 60 * 1000

/** The session object express-session hands its store for the same values (a `cookie` plus the values). */
export const expressSession = (values: Record<string, unknown>, expires: number): Record<string, unknown> => ({
  cookie: { originalMaxAge: DAY_MS, expires: new Date(expires).toISOString(), httpOnly: true, path: "/" },
  ...values
})

/** The codec's record of session `i`'s values (what ours stores), expiring at `expiresAt`. */
export const sessionRecord = (i: number, expiresAt: number): Codec.SessionRecord => ({
  deadline: expiresAt,
  expiry: expiresAt,
  rememberMe: false,
  values: new Map(Object.entries(sessionValues(i)))
})

export interface Workload {
  readonly sessions: number
  readonly ops: number
  readonly seed: number
  readonly tokens: ReadonlyArray<string>
  readonly values: ReadonlyArray<Record<string, unknown>>
  /** What ours saves: the codec's record of session `i`. */
  readonly records: ReadonlyArray<Codec.SessionRecord>
  /** What express-session stores save for session `i`. */
  readonly expressSessions: ReadonlyArray<Record<string, unknown>>
  /** The expiry of every session, epoch milliseconds (a day from the start of the run). */
  readonly expiresAt: number
  /** Operation `k` touches session `target[k]`... */
  readonly target: Uint32Array
  /** ...and is a write when `write[k]` is 1, a read otherwise. */
  readonly write: Uint8Array
}

/** What a child needs to build the same workload again (`makeWorkload(...)` of these). */
export interface WorkloadSpec {
  readonly sessions: number
  readonly ops: number
  readonly seed: number
  readonly expiresAt: number
}

export const makeWorkload = (sessions: number, ops: number, seed = 42, expiresAt = Date.now() + DAY_MS): Workload => {
  const random = prng(seed)
  const tokens: Array<string> = []
  const values: Array<Record<string, unknown>> = []
  const records: Array<Codec.SessionRecord> = []
  const expressSessions: Array<Record<string, unknown>> = []
  for (let i = 0; i < sessions; i++) {
    tokens.push(makeToken(random))
    const v = sessionValues(i)
    values.push(v)
    records.push(sessionRecord(i, expiresAt))
    expressSessions.push(expressSession(v, expiresAt))
  }
  const target = new Uint32Array(ops)
  const write = new Uint8Array(ops)
  for (let k = 0; k < ops; k++) {
    target[k] = Math.floor(random() * sessions)
    write[k] = random() < 0.2 ? 1 : 0
  }
  return {
    sessions,
    ops,
    seed,
    tokens,
    values,
    records,
    expressSessions,
    expiresAt,
    target,
    write
  }
}

export const workloadSpec = (w: Workload): WorkloadSpec => ({
  sessions: w.sessions,
  ops: w.ops,
  seed: w.seed,
  expiresAt: w.expiresAt
})

/** The stored size of a session on each side, for the notes under the tables. */
export const storedSizes = (workload: Workload): { readonly ours: number; readonly express: number } => ({
  ours: Codec.encode(workload.records[0]!).length,
  express: Buffer.byteLength(JSON.stringify(workload.expressSessions[0]))
})
