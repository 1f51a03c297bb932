/**
 * A previous implementation of the library, run in the same benchmark as the current one: a detached git worktree
 * of an older commit in a temporary folder, sharing the repository's `node_modules` (links, both lines), built the
 * way `npm run bench` builds the current code (`tsc` of each line's `tsconfig.build.json` into the worktree's own
 * `dist/`), and served by the current benchmark server files (copied over the worktree's, so that both sides run
 * the same server code and only the library differs). The worktree is removed when the section ends.
 */
import { execFile } from "node:child_process"
import { copyFile, mkdtemp, rm, symlink } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { type Line, nodeFor, repoPath } from "./child.js"
import type { Launch } from "./httpServers.js"

const run = promisify(execFile)

export interface Previous {
  /** The commit, as `git rev-parse --short` names it. */
  readonly commit: string
  /** Its subject line, for the notes. */
  readonly subject: string
  readonly dir: string
  /** How to start `servers/effect.ts` of a line on the previous implementation. */
  readonly server: (line: Line, env: Record<string, string>) => Launch
  readonly dispose: () => Promise<void>
}

/** The server scripts copied into the worktree (the current ones). */
const SERVERS = ["bench/servers/effect.ts", "packages/effect4/bench/servers/effect.ts"] as const

export const checkoutPrevious = async (
  commit: string,
  lines: ReadonlyArray<Line>,
  log: (line: string) => void
): Promise<Previous> => {
  const repo = repoPath(".")
  const git = async (...args: Array<string>) => (await run("git", ["-C", repo, ...args], { encoding: "utf8" })).stdout
  const short = (await git("rev-parse", "--short", `${commit}^{commit}`)).trim()
  const subject = (await git("log", "-1", "--format=%s", short)).trim()
  const tmp = await mkdtemp(Path.join(tmpdir(), "effect-session-bench-previous-"))
  const dir = Path.join(tmp, short)
  let added = false
  const dispose = async () => {
    if (added) {
      await git("worktree", "remove", "--force", dir).catch((error) =>
        log(`  could not remove the worktree ${dir}: ${error}`)
      )
    }
    await rm(tmp, { recursive: true, force: true })
  }
  try {
    log(`  checking out ${short} (${subject.slice(0, 60)}...) in ${dir}`)
    await git("worktree", "add", "--detach", dir, short)
    added = true
    await symlink(repoPath("node_modules"), Path.join(dir, "node_modules"), "dir")
    await symlink(repoPath("packages/effect4/node_modules"), Path.join(dir, "packages/effect4/node_modules"), "dir")
    for (const file of SERVERS) await copyFile(repoPath(file), Path.join(dir, file))
    const sources = process.env.BENCH_SOURCES === "1"
    if (!sources) {
      log(`  building ${short} (${lines.map((line) => `Effect ${line}`).join(", ")})`)
      const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
      const fast = ["--declaration", "false", "--declarationMap", "false", "--sourceMap", "false"]
      const configs = lines.map((line) =>
        Path.join(dir, line === 3 ? "tsconfig.build.json" : "packages/effect4/tsconfig.build.json")
      )
      await Promise.all(
        configs.map((config) =>
          run(process.execPath, [tsc, "-p", config, ...fast], { encoding: "utf8" }).catch((error) => {
            throw new Error(`building ${short} (${config}) failed:\n${(error as { stdout?: string }).stdout ?? error}`)
          })
        )
      )
    }
    const imports = sources
      ? ["--import", "tsx"]
      : ["--import", "tsx", "--import", Path.join(dir, "bench/lib/use-dist.mjs")]
    return {
      commit: short,
      subject,
      dir,
      server: (line, env) => ({
        node: nodeFor(line),
        args: [...imports, Path.join(dir, SERVERS[line === 3 ? 0 : 1])],
        env,
        cwd: dir
      }),
      dispose
    }
  } catch (error) {
    await dispose()
    throw error
  }
}
