/**
 * The resolution of a log's real path, driven by a fake file system given as a map of links (the real ones are
 * exercised through the platform FileSystem in test/fileHostile.test.ts).
 */
import { assert, describe, it } from "vitest"
import { logPaths, MAX_LINKS, PathResolver } from "../../src/core/filePaths.js"

/** Runs the resolver against `links` (path -> target) with folders that are their own real paths, except `aliases`. */
const resolve = (path: string, links: Record<string, string>, aliases: Record<string, string> = {}, cwd = "/cwd") => {
  const resolver = new PathResolver(path, cwd)
  const asked: Array<string> = []
  for (let i = 0; i < 1000; i++) {
    const step = resolver.next()
    if (step._tag === "Done") return { path: step.path, asked }
    if (step._tag === "Fail") return { fail: step.why, asked }
    if (step._tag === "RealFolder") {
      asked.push(`folder ${step.folder}`)
      resolver.folderIs(aliases[step.folder] ?? step.folder)
    } else {
      asked.push(`link ${step.path}`)
      resolver.linkIs(links[step.path])
    }
  }
  throw new Error("the resolver does not terminate")
}

describe("PathResolver", () => {
  it("a plain path is its own real path, relative to the working directory", () => {
    assert.deepStrictEqual(resolve("data/s.log", {}), {
      path: "/cwd/data/s.log",
      asked: ["folder /cwd/data", "link /cwd/data/s.log"]
    })
  })

  it("follows links; a relative target resolves against the link's folder, an absolute one as is", () => {
    const links = { "/a/link": "../b/next", "/b/next": "/c/real.log" }
    assert.strictEqual(resolve("/a/link", links).path, "/c/real.log")
    assert.strictEqual(resolve("link", links, {}, "/a").path, "/c/real.log")
  })

  it("canonicalizes folders at every hop (a link in a folder name)", () => {
    const links = { "/real/dir/link": "target.log" }
    assert.strictEqual(resolve("/alias/link", links, { "/alias": "/real/dir" }).path, "/real/dir/target.log")
  })

  it("a target that does not exist yet is the real path", () => {
    assert.strictEqual(resolve("/a/link", { "/a/link": "new/sessions.log" }).path, "/a/new/sessions.log")
  })

  it("gives up after MAX_LINKS links (a loop)", () => {
    const loop = resolve("/x", { "/x": "/y", "/y": "/x" })
    assert.include(loop.fail, `more than ${MAX_LINKS} symbolic links`)
    const chain: Record<string, string> = {}
    for (let i = 0; i < MAX_LINKS; i++) chain[`/l${i}`] = `/l${i + 1}`
    assert.strictEqual(resolve("/l0", chain).path, `/l${MAX_LINKS}`, "exactly MAX_LINKS links are followed")
  })

  it("derives every path from the real one", () => {
    const paths = logPaths("/data/sessions.log")
    assert.deepStrictEqual(
      [paths.lock, paths.compact, paths.rewrite, paths.folder, paths.damaged("1")],
      [
        "/data/sessions.log.lock",
        "/data/sessions.log.compact",
        "/data/sessions.log.rewrite",
        "/data",
        "/data/sessions.log.damaged-1"
      ]
    )
  })
})
