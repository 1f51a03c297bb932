// Module resolution hooks for the benchmark: a module of the library (`src/**/*.ts`) is loaded from its build in
// `dist/` instead, so the benchmark measures the JavaScript users run, compiled by `tsc`, not tsx's development
// transform of the sources (which, among others, wraps every function it creates to keep its name: about a third
// more time per request). `npm run bench` builds first.
const src = new URL("../../src/", import.meta.url).href
const dist = new URL("../../dist/", import.meta.url).href

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (resolved.url.startsWith(src) && resolved.url.endsWith(".ts")) {
    return { ...resolved, url: dist + resolved.url.slice(src.length, -".ts".length) + ".js", format: "module" }
  }
  return resolved
}
