#!/usr/bin/env node
// Typechecks every `@example` of a line's public modules, as a user would paste it: each fenced ```ts block of a
// doc comment in `src/*.ts` becomes a module of its own, in which `effect-session` (and `effect-session/X`)
// resolve to that line's `src/` and every other import to the line's installed packages, checked with the line's
// `strict` compiler options. An example that does not compile (a renamed export, a `declare const` left in, a
// missing import) fails the run, naming the file and the example.
//
//   node scripts/check-doc-examples.mjs [packages/effect4]   (default: the Effect 3 line at the root)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const line = Path.resolve(root, process.argv[2] ?? ".")
const ts = createRequire(Path.join(root, "package.json"))("typescript")

/** The fenced TypeScript blocks of the `@example` tags in `source`, with the line each starts on. */
export const docExamples = (source) => {
  const examples = []
  for (const comment of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const text = comment[0]
    let at = text.indexOf("@example")
    while (at >= 0) {
      const fence = /```(?:ts|typescript)\n([\s\S]*?)```/.exec(text.slice(at))
      if (fence === null) break
      const code = fence[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n")
      const offset = comment.index + at + fence.index
      examples.push({ code, line: source.slice(0, offset).split("\n").length + 1 })
      at = text.indexOf("@example", at + fence.index + fence[0].length)
    }
  }
  return examples
}

const src = Path.join(line, "src")
const out = Path.join(line, ".doc-examples")
rmSync(out, { recursive: true, force: true })
mkdirSync(out)
const files = []
const origin = new Map()
for (const name of readdirSync(src).filter((f) => f.endsWith(".ts")).sort()) {
  const examples = docExamples(readFileSync(Path.join(src, name), "utf8"))
  examples.forEach((example, i) => {
    const file = Path.join(out, `${name.replace(/\.ts$/, "")}.${i + 1}.ts`)
    // each example is a module (its names do not clash with another example's)
    writeFileSync(file, `${example.code}\nexport {}\n`)
    files.push(file)
    origin.set(file, `src/${name}:${example.line}`)
  })
}

const config = ts.getParsedCommandLineOfConfigFile(Path.join(line, "tsconfig.json"), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
  }
})
const options = {
  ...config.options,
  noEmit: true,
  noUnusedLocals: false,
  noUnusedParameters: false,
  baseUrl: line,
  paths: { "effect-session": ["src/index.ts"], "effect-session/*": ["src/*.ts"] }
}
const program = ts.createProgram(files, options)
const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) =>
  d.file === undefined || files.includes(d.file.fileName)
)
try {
  if (diagnostics.length > 0) {
    for (const d of diagnostics) {
      const where = d.file === undefined
        ? ""
        : `${origin.get(d.file.fileName)} (example line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}): `
      console.error(`${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`)
    }
    console.error(`${diagnostics.length} error(s) in the @example blocks of ${Path.relative(root, src) || "src"}`)
    process.exitCode = 1
  } else {
    console.log(`${files.length} @example blocks of ${Path.relative(root, src)} typecheck`)
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
