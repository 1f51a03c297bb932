/**
 * What a request logs, with no Effect import: each line's `logging.test.ts` serves the app, collects the log lines
 * of its server into `lines` (a `Logger` that pushes into an array) and calls these.
 */
import assert from "node:assert/strict"
import type { FetchJar } from "./jar.js"

/** One collected log line: its level (`"ERROR"`, `"WARN"`, ... in upper case) and its message parts joined. */
export interface LogLine {
  readonly level: string
  readonly message: string
}

/** A well-formed token no store holds. */
export const TOKEN = "A".repeat(43)

/** The lines one request logs (`lines` is emptied first). */
const linesOf = async (lines: Array<LogLine>, request: () => Promise<{ readonly status: number }>) => {
  lines.length = 0
  const reply = await request()
  // the server logs before it writes the response; give a late logger a moment all the same
  await new Promise((resolve) => setTimeout(resolve, 20))
  return { reply, logged: [...lines] }
}

const noToken = (logged: ReadonlyArray<LogLine>, token: string) => {
  for (const line of logged) assert.ok(!line.message.includes(token), `a log line holds the token: ${line.message}`)
}

/**
 * A store that fails every operation, a session with an idle timeout: `/read` reads the session and leaves the error
 * unhandled, `/set` writes it, `/none` never uses it (the commit would extend the idle timeout), `/handled` reads it
 * twice and handles the error. Each failing request logs exactly one line, at ERROR, without the token.
 */
export const outageLogsOnce = async (jar: FetchJar, lines: Array<LogLine>) => {
  const cookie = { cookie: `session=${TOKEN}` }
  for (
    const [path, status, withCookie] of [
      ["/read", 503, true],
      ["/set", 503, false],
      ["/none", 200, true],
      ["/handled", 200, true]
    ] as const
  ) {
    const { logged, reply } = await linesOf(lines, () => jar.fetch(path, withCookie ? cookie : {}))
    assert.equal(reply.status, status, path)
    assert.deepEqual(logged.map((l) => l.level), ["ERROR"], `${path} logs one line: ${JSON.stringify(logged)}`)
    assert.match(logged[0]!.message, /store/, path)
    noToken(logged, TOKEN)
  }
}
