/**
 * The Effect 4 line in the benchmark: which of its modules exist on this branch (the line is ported module by
 * module; a section measures what is there and says what is not), and its build.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { repoPath } from "./child.js"

export type Effect4Module = "MemStore" | "RedisStore" | "FileStore" | "Session" | "HttpSession"

export const effect4Has = (module: Effect4Module): boolean => existsSync(repoPath(`packages/effect4/src/${module}.ts`))

/** The store engines the Effect 4 line has, by store group. */
export const effect4Engines = (): Array<"memory" | "redis" | "file"> => [
  ...(effect4Has("MemStore") ? ["memory" as const] : []),
  ...(effect4Has("RedisStore") ? ["redis" as const] : []),
  ...(effect4Has("FileStore") ? ["file" as const] : [])
]

/** Whether the Effect 4 line has what its HTTP servers need. */
export const effect4HasHttp = (): boolean => effect4Has("Session") && effect4Has("HttpSession")

/** The newest modification time of the files under `dir` (links followed: `src/core` is one), in ms. */
const newest = (dir: string): number => {
  let latest = 0
  for (const entry of readdirSync(dir)) {
    const path = Path.join(dir, entry)
    const stat = statSync(path)
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs)
  }
  return latest
}

/** Whether `packages/effect4/dist` is older than a source file (or missing). */
const effect4BuildIsStale = (): boolean => {
  const built = repoPath("packages/effect4/dist/index.js")
  if (!existsSync(built)) return true
  const sources = Math.max(
    newest(repoPath("packages/effect4/src")),
    statSync(repoPath("packages/effect4/tsconfig.build.json")).mtimeMs,
    statSync(repoPath("packages/effect4/tsconfig.json")).mtimeMs
  )
  return sources > statSync(built).mtimeMs
}

/**
 * Builds `packages/effect4/dist` (what the Effect 4 children load, see `dist-hooks.mjs`) with the workspace's
 * `tsconfig.build.json`, unless it is newer than every source. Type errors are reported but do not stop the run
 * while the line is being ported (`tsc` still writes every file); a module whose build is missing fails its child.
 */
export const buildEffect4 = (log: (line: string) => void): void => {
  if (!effect4BuildIsStale()) {
    log("packages/effect4/dist is up to date")
    return
  }
  log("building packages/effect4")
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  try {
    execFileSync(process.execPath, [tsc, "-p", repoPath("packages/effect4/tsconfig.build.json")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? error).trim()
    log(`  packages/effect4 build reported errors (the run goes on with what was built):\n${output}`)
  }
}
