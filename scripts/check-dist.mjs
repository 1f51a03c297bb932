// Imports every public entry point of the built package through its own name (Node resolves the package's
// `exports` map), and checks that each module has the exports users rely on and a .d.ts beside it.
import { existsSync, readFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
let failures = 0
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === "string") continue
  const specifier = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
  const types = new URL(`../${target.types}`, import.meta.url)
  try {
    const mod = await import(specifier)
    const names = Object.keys(mod)
    if (names.length === 0) throw new Error("no exports")
    if (!existsSync(types)) throw new Error(`missing ${target.types}`)
    console.log(`ok   ${specifier}: ${names.join(", ")}`)
  } catch (error) {
    failures++
    console.error(`FAIL ${specifier}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
const { MemStore, Store } = await import(pkg.name)
const { Effect, DateTime, Option } = await import("effect")
const found = await Effect.runPromise(
  Effect.gen(function*() {
    yield* Store.save("t", new Uint8Array([1, 2, 3]), DateTime.unsafeMake(Date.now() + 60_000))
    return yield* Store.find("t")
  }).pipe(Effect.provide(MemStore.layer()))
)
if (!Option.isSome(found) || found.value.length !== 3) {
  failures++
  console.error("FAIL the built MemStore did not round-trip a session")
} else console.log("ok   built MemStore round-trips a session")
process.exit(failures === 0 ? 0 : 1)
