// Imports every public entry point of a built line through its own package name (Node resolves the package's
// `exports` map), and checks that each module has exports and a .d.ts beside it, then round-trips a session
// through the built MemStore. The public declarations show no internals: no member marked `@internal` or
// `@deprecated` in an entry point's .d.ts.
//
//   node scripts/check-dist.mjs                    the Effect 3 line (repository root)
//   node scripts/check-dist.mjs packages/effect4   the Effect 4 line (run it with Node 22)
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const dir = Path.resolve(root, process.argv[2] ?? ".")
const pkg = JSON.parse(readFileSync(Path.join(dir, "package.json"), "utf8"))
// resolution as seen from inside the package: its own name resolves through its `exports` (self-reference), and
// `effect` is the line's own copy
const require = createRequire(Path.join(dir, "package.json"))
const load = (specifier) => import(pathToFileURL(require.resolve(specifier)).href)

let failures = 0
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === "string") continue
  const specifier = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
  const types = Path.join(dir, target.types)
  try {
    let mod
    try {
      mod = await load(specifier)
    } catch (error) {
      // `effect-session/testing` imports @effect/vitest, and vitest 3 (the Effect 3 line) refuses to load outside its
      // runner. That error is thrown while evaluating, after every import of the module graph has resolved; the
      // install check runs the module inside vitest.
      if (!(subpath === "./testing" && String(error?.message).includes("Vitest failed to access its internal state"))) {
        throw error
      }
      if (!existsSync(types)) throw new Error(`missing ${target.types}`)
      console.log(`ok   ${pkg.name}@${pkg.version} ${specifier}: resolves; loads only inside vitest`)
      continue
    }
    const names = Object.keys(mod)
    if (names.length === 0) throw new Error("no exports")
    if (!existsSync(types)) throw new Error(`missing ${target.types}`)
    const internals = readFileSync(types, "utf8").match(/@internal|@deprecated/g)
    if (internals !== null) {
      throw new Error(`${target.types} shows ${internals.length} internal or deprecated member(s)`)
    }
    console.log(`ok   ${pkg.name}@${pkg.version} ${specifier}: ${names.join(", ")}`)
  } catch (error) {
    failures++
    console.error(`FAIL ${specifier}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
const { MemStore, Store } = await load(pkg.name)
const { Effect, DateTime, Option } = await load("effect")
const makeUtc = DateTime.makeUnsafe ?? DateTime.unsafeMake
const found = await Effect.runPromise(
  Effect.gen(function*() {
    yield* Store.save("t", new Uint8Array([1, 2, 3]), makeUtc(Date.now() + 60_000))
    return yield* Store.find("t")
  }).pipe(Effect.provide(MemStore.layer()))
)
if (!Option.isSome(found) || found.value.length !== 3) {
  failures++
  console.error("FAIL the built MemStore did not round-trip a session")
} else console.log(`ok   built MemStore of ${pkg.name}@${pkg.version} round-trips a session`)
process.exit(failures === 0 ? 0 : 1)
