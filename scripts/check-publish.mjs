// Run by `npm publish` (prepublishOnly): refuses to publish a line whose package.json does not say where the
// project lives. The repository has no public address yet, so `repository`, `homepage` and `bugs` are left out
// rather than guessed; whoever publishes adds them first.
//
//   node scripts/check-publish.mjs                    the Effect 3 line (repository root)
//   node scripts/check-publish.mjs packages/effect4   the Effect 4 line
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const dir = Path.resolve(root, process.argv[2] ?? ".")
const pkg = JSON.parse(readFileSync(Path.join(dir, "package.json"), "utf8"))
const missing = ["repository", "homepage", "bugs"].filter((field) => pkg[field] === undefined)
if (missing.length > 0) {
  console.error(
    `${pkg.name}@${pkg.version}: add ${missing.join(", ")} to ${Path.join(dir, "package.json")} before publishing`
  )
  process.exit(1)
}
