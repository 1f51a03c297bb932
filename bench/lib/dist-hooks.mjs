// Module resolution hooks for the benchmark: a module of the library (`src/**/*.ts`, or on the Effect 4 line
// `packages/effect4/src/**/*.ts`) is loaded from its build in `dist/` (`packages/effect4/dist/`) instead, so the
// benchmark measures the JavaScript users run, compiled by `tsc`, not tsx's development transform of the sources
// (which, among others, wraps every function it creates to keep its name: about a third more time per request).
// `npm run bench` builds both first. (`packages/effect4/src/core` is a link to `src/core`: Node resolves it to its
// real path, so a direct import of a core file gets the root build of the same file.)
const roots = [
  [new URL("../../src/", import.meta.url).href, new URL("../../dist/", import.meta.url).href],
  [
    new URL("../../packages/effect4/src/", import.meta.url).href,
    new URL("../../packages/effect4/dist/", import.meta.url).href
  ]
]

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (resolved.url.endsWith(".ts")) {
    for (const [src, dist] of roots) {
      if (resolved.url.startsWith(src)) {
        return { ...resolved, url: dist + resolved.url.slice(src.length, -".ts".length) + ".js", format: "module" }
      }
    }
  }
  return resolved
}
