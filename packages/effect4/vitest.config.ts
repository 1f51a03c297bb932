import { defineConfig } from "vitest/config"

/** Load tests measure latency and memory: they run on their own, one file at a time, after the others. */
const load = ["test/soak.test.ts", "test/faults.test.ts", "test/crash.test.ts"]

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: load } },
      { extends: true, test: { name: "load", include: load } }
    ]
  }
})
