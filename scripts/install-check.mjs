#!/usr/bin/env node
// Proves the README's Install section for each line on today's registry, as a new user would meet it:
// packs the line (`npm pack`), creates an empty project, runs exactly the README's install commands for that line
// (with the packed tarball in place of `effect-session`, and without the optional `ioredis`), typechecks a small
// app with `strict` and `skipLibCheck: false` that imports only `MemStore`, `Session` and `HttpSession`, runs it,
// and asks `/put` then `/get` with the session cookie. Then, with vitest as the README installs it, the public
// `effect-session/testing` module: the README's "Testing your app" recipe (as written on Effect 4, with the
// substitutions the README names on Effect 3) and the conformance suite against the packed MemStore, typechecked
// as strictly and run.
//
//   node scripts/install-check.mjs [effect3|effect4]...   (default: both; build both lines first: npm run build)
import { spawn, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { findNode22 } from "./node22.mjs"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const here = Path.join(root, "scripts", "install-check")

const lines = {
  effect3: { dir: root, node: process.execPath, app: "effect3.ts", recipeApp: "App-effect3.ts", fastCheck: false },
  // on Effect 4 the conformance suite needs fast-check, an optional peer (README, "Testing your app")
  effect4: {
    dir: Path.join(root, "packages", "effect4"),
    node: undefined,
    app: "effect4.ts",
    recipeApp: "App-effect4.ts",
    fastCheck: true
  }
}

/** The README's commands for one line: the `sh` block that follows `<!-- install: LINE -->`. */
export const readmeCommands = (readme, line) => {
  const marker = `<!-- install: ${line} -->`
  const at = readme.indexOf(marker)
  if (at < 0) throw new Error(`README.md has no "${marker}" block`)
  const block = /```(?:sh|console)\n([\s\S]*?)```/.exec(readme.slice(at))
  if (block === null) throw new Error(`no code block after "${marker}"`)
  return block[1]
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "")
}

/**
 * The README's "Testing your app" recipe (the `ts` block after `<!-- recipe: testing -->`) as one line runs it:
 * Effect 4 as written; Effect 3 with the substitutions the README names (`HttpServer.serve` in place of
 * `HttpRouter.serve(App, ...)`, `TestClock` from `effect`).
 */
export const readmeRecipe = (readme, line) => {
  const marker = "<!-- recipe: testing -->"
  const at = readme.indexOf(marker)
  if (at < 0) throw new Error(`README.md has no "${marker}" block`)
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))
  if (block === null) throw new Error(`no ts block after "${marker}"`)
  if (line === "effect4") return block[1]
  const substitute = (text, from, to) => {
    if (!text.includes(from)) throw new Error(`the README's recipe has no ${JSON.stringify(from)}`)
    return text.replace(from, to)
  }
  return [
    ["import { Effect, Layer } from \"effect\"\n", "import { Effect, Layer, TestClock } from \"effect\"\n"],
    ["import { HttpRouter } from \"effect/http\"\n", "import { HttpServer } from \"@effect/platform\"\n"],
    ["import { TestClock } from \"effect/testing\"\n", ""],
    ["HttpRouter.serve(App, { disableLogger: true })", "HttpServer.serve(App)"]
  ].reduce((text, [from, to]) => substitute(text, from, to), block[1])
}

const run = (command, args, options) => {
  console.log(`  $ ${[command, ...args].join(" ")}`)
  const result = spawnSync(command, args, { stdio: "inherit", ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`)
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const get = async (url, cookie) => {
  const response = await fetch(url, { headers: cookie === undefined ? {} : { cookie } })
  return { status: response.status, text: await response.text(), setCookie: response.headers.get("set-cookie") }
}

const check = async (name) => {
  const line = lines[name]
  const node = line.node ?? findNode22()
  const env = { ...process.env, PATH: `${Path.dirname(node)}${Path.delimiter}${process.env.PATH}` }
  console.log(`\n== ${name}: ${node} (${spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim()})`)
  if (!existsSync(Path.join(line.dir, "dist", "index.js"))) {
    throw new Error(`${line.dir}/dist is missing: npm run build`)
  }
  const work = mkdtempSync(Path.join(tmpdir(), `effect-session-install-${name}-`))
  try {
    const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: line.dir,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    if (packed.status !== 0) throw new Error("npm pack failed")
    const tarball = Path.join(work, JSON.parse(packed.stdout)[0].filename)
    console.log(`  packed ${Path.basename(tarball)}`)
    const project = Path.join(work, "app")
    run("mkdir", [project])
    writeFileSync(
      Path.join(project, "package.json"),
      JSON.stringify({ name: "install-check-app", private: true, type: "module" }, null, 2)
    )
    const readme = readFileSync(Path.join(root, "README.md"), "utf8")
    for (const command of readmeCommands(readme, name)) {
      const words = command.split(/\s+/)
      if (words.some((w) => w.startsWith("ioredis"))) {
        console.log(`  (skipped, ioredis stays uninstalled: ${command})`)
        continue
      }
      const [bin, ...args] = words.map((w) => (/^effect-session(@[\w.^~-]+)?$/.test(w) ? tarball : w))
      run(bin, [...args, "--no-audit", "--no-fund"], { cwd: project, env })
    }
    if (existsSync(Path.join(project, "node_modules", "ioredis"))) throw new Error("ioredis got installed")
    // the app's own tooling; @types/ws because @effect/platform-node's declarations import "ws", which ships none
    run("npm", ["install", "-D", "typescript@~5.9", "@types/node@22", "@types/ws", "--no-audit", "--no-fund"], {
      cwd: project,
      env
    })
    copyFileSync(Path.join(here, line.app), Path.join(project, "app.ts"))
    copyFileSync(Path.join(here, "tsconfig.json"), Path.join(project, "tsconfig.json"))
    run(node, [Path.join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
      cwd: project,
      env
    })
    const port = await freePort()
    const server = spawn(node, ["dist/app.js"], { cwd: project, env: { ...env, PORT: String(port) }, stdio: "inherit" })
    try {
      const base = `http://127.0.0.1:${port}`
      let put
      for (let i = 0; put === undefined; i++) {
        try {
          put = await get(`${base}/put`)
        } catch (error) {
          if (i > 100 || server.exitCode !== null) throw new Error(`the app did not answer: ${error}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      if (put.status !== 200 || put.setCookie === null) throw new Error(`/put: ${put.status}, cookie ${put.setCookie}`)
      const cookie = put.setCookie.split(";")[0]
      const got = await get(`${base}/get`, cookie)
      if (got.status !== 200 || got.text !== "Hello world!") throw new Error(`/get: ${got.status} ${got.text}`)
      const without = await get(`${base}/get`)
      if (without.text !== "") throw new Error(`/get without a cookie answered ${without.text}`)
      console.log(`ok   ${name}: installed from the README's commands, typechecked, /put then /get answered`)
    } finally {
      server.kill("SIGTERM")
    }
    checkTesting(name, line, project, node, env, readme)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** `effect-session/testing` from the packed line: the README's recipe and the conformance suite, under vitest. */
const checkTesting = (name, line, project, node, env, readme) => {
  if (line.fastCheck) run("npm", ["install", "-D", "fast-check", "--no-audit", "--no-fund"], { cwd: project, env })
  mkdirSync(Path.join(project, "src"))
  mkdirSync(Path.join(project, "test"))
  copyFileSync(Path.join(here, line.recipeApp), Path.join(project, "src", "App.ts"))
  writeFileSync(Path.join(project, "test", "recipe.test.ts"), readmeRecipe(readme, name))
  copyFileSync(Path.join(here, "conformance.test.ts"), Path.join(project, "test", "conformance.test.ts"))
  copyFileSync(Path.join(here, "tsconfig.test.json"), Path.join(project, "tsconfig.test.json"))
  run(node, [Path.join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.test.json"], {
    cwd: project,
    env
  })
  const results = Path.join(project, "vitest-results.json")
  run(node, [
    Path.join(project, "node_modules", "vitest", "vitest.mjs"),
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile=${results}`
  ], { cwd: project, env })
  const report = JSON.parse(readFileSync(results, "utf8"))
  const passed = report.testResults.flatMap((file) => file.assertionResults).filter((t) => t.status === "passed")
  const titles = passed.map((t) => t.fullName ?? t.title)
  const recipe = titles.filter((t) => t.includes("a session ends after 30 idle minutes")).length
  const conformance = titles.filter((t) => t.includes("MemStore (packed): SessionStore conformance")).length
  if (report.numFailedTests !== 0 || recipe !== 1 || conformance < 20) {
    throw new Error(
      `effect-session/testing: ${report.numFailedTests} failed, recipe ${recipe}, conformance ${conformance}`
    )
  }
  console.log(`ok   ${name}: effect-session/testing ran the README's recipe and ${conformance} conformance tests`)
}

if (process.argv[1] && Path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(lines)
  let failed = 0
  for (const name of names) {
    try {
      await check(name)
    } catch (error) {
      failed++
      console.error(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  process.exit(failed === 0 ? 0 : 1)
}
