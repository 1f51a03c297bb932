#!/usr/bin/env node
// The Effect 4 line needs Node >= 22.19 (@effect/platform-node 4.1; vitest 5 needs >= 22.12). When the Node running
// this script is older, this finds or installs Node 22 from the npm registry's `node-<platform>-<arch>` package
// into `.node22/` of the repository (ignored by git) and uses that.
//
//   node scripts/node22.mjs                  prints the path of a suitable `node` binary
//   node scripts/node22.mjs CMD [ARGS...]    runs CMD with that binary's folder first on PATH (exit code passed on)
//
// NODE22=/path/to/node overrides the lookup.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const MIN = [22, 19]

const atLeast = (version) => {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number)
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1])
}

const version = (binary) => {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" })
  return out.status === 0 ? out.stdout.trim() : undefined
}

export const findNode22 = () => {
  if (process.env.NODE22) return process.env.NODE22
  if (atLeast(process.versions.node)) return process.execPath
  const prefix = Path.join(root, ".node22")
  const pkg = `node-${process.platform}-${process.arch}`
  const binary = Path.join(prefix, "node_modules", pkg, "bin", "node")
  if (existsSync(binary) && atLeast(version(binary) ?? "0.0")) return binary
  console.error(`Node ${process.versions.node} is older than ${MIN.join(".")}: installing ${pkg}@22 into ${prefix}`)
  const install = spawnSync(
    "npm",
    ["install", "--prefix", prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `${pkg}@22`],
    { stdio: ["ignore", "inherit", "inherit"] }
  )
  if (install.status !== 0 || !existsSync(binary)) {
    console.error(`could not install ${pkg}@22 from the npm registry`)
    process.exit(1)
  }
  return binary
}

if (process.argv[1] && Path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const binary = findNode22()
  const [command, ...args] = process.argv.slice(2)
  if (command === undefined) {
    console.log(binary)
  } else {
    const PATH = `${Path.dirname(binary)}${Path.delimiter}${process.env.PATH ?? ""}`
    const run = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, PATH, NODE22: binary } })
    process.exit(run.status ?? 1)
  }
}
