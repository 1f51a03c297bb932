/**
 * The benchmark harness (`npm run bench`) starts and measures: one tiny MemStore vs `Map` + JSON workload through
 * the same code the full run uses, and the table row it produces; and the Effect 4 line's MemStore the same way,
 * in its Node 22 host process (from the sources: no build needed). No timing assertions: timings on shared
 * machines are not tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { renderTable } from "../bench/lib/table.js"
import { makeWorkload, storedSizes } from "../bench/lib/workload.js"
import { parseArgs, settingsFor } from "../bench/run.js"
import { IN_FLIGHT_64, runGroup, SEQUENTIAL, STORE_COLUMNS, storeTable } from "../bench/store/group.js"
import { RemoteHost } from "../bench/store/remote.js"
import { effectSubject, mapJsonCeiling } from "../bench/store/subjects.js"
import * as MemStore from "../src/MemStore.js"

describe("bench harness", () => {
  it("parses its arguments", () => {
    assert.deepStrictEqual(parseArgs(["--quick", "--only=store,file"]).only, ["store", "file"])
    assert.isTrue(parseArgs(["--quick"]).quick)
    assert.throws(() => parseArgs(["--only=nope"]))
    assert.strictEqual(settingsFor(false).store.ops, 100_000)
    assert.strictEqual(settingsFor(false).store.sessions, 10_000)
    assert.isTrue(parseArgs([]).effect4)
    assert.isFalse(parseArgs(["--without-effect4"]).effect4)
  })

  it("measures MemStore against Map + JSON and renders a well-formed row", async () => {
    const workload = makeWorkload(200, 2_000)
    const sizes = storedSizes(workload)
    assert.isAbove(sizes.ours, 150)
    assert.isBelow(sizes.ours, 300)
    const results = await runGroup([effectSubject("MemStore", MemStore.make()), mapJsonCeiling], workload, {
      rounds: 1,
      modes: [SEQUENTIAL, IN_FLIGHT_64],
      limit: { ops: 2_000, ms: 10_000 },
      warmup: { ops: 200, ms: 1_000 }
    })
    assert.strictEqual(results.length, 4)
    for (const result of results) {
      const [run] = result.rounds
      assert.isDefined(run)
      assert.strictEqual(run!.ops, 2_000)
      assert.isAbove(run!.opsPerSec, 0)
      assert.isTrue(Number.isFinite(run!.p50) && run!.p50 >= 0 && run!.p99 >= run!.p50)
    }
    const table = storeTable("test", "MemStore vs Map", results, [
      { subject: "MemStore", against: mapJsonCeiling.name, target: { op: ">=", bound: 0.000001 } }
    ])
    const row = table.rows[0]!
    assert.strictEqual(row.length, STORE_COLUMNS.length)
    assert.strictEqual(row[0], "MemStore")
    assert.strictEqual(row[1], "sequential")
    assert.match(row[3]!, /^[\d,.]+$/, "ops/s")
    assert.match(row[7]!, /^\d+\.\d+× vs Map \+ JSON \(ceiling\)$/, "ratio")
    assert.strictEqual(row[8], "≥ 0.000001×")
    assert.strictEqual(row[9], "PASS")
    const lines = renderTable(table).split("\n").filter((line) => line.startsWith("|"))
    const pipes = (line: string) => line.replace(/\\\|/g, "").split("|").length
    assert.isTrue(lines.every((line) => pipes(line) === STORE_COLUMNS.length + 2), "every line has every column")
  })

  it("measures the Effect 4 MemStore in its Node 22 host, in the same alternation", async () => {
    const host = await RemoteHost.start(4, "children/store-host.ts", { sources: true })
    try {
      const workload = makeWorkload(200, 2_000)
      const results = await runGroup(
        [host.subject("MemStore (Effect 4)", { engine: "memory" }), mapJsonCeiling],
        workload,
        {
          rounds: 2,
          modes: [SEQUENTIAL, IN_FLIGHT_64],
          limit: { ops: 2_000, ms: 10_000 },
          warmup: { ops: 200, ms: Infinity }
        }
      )
      assert.deepStrictEqual(results.map((r) => `${r.subject}/${r.mode}/${r.rounds.length}`), [
        "MemStore (Effect 4)/sequential/2",
        "Map + JSON (ceiling)/sequential/2",
        "MemStore (Effect 4)/64 in flight/2",
        "Map + JSON (ceiling)/64 in flight/2"
      ])
      for (const run of results.flatMap((r) => r.rounds)) {
        // every operation ran (a read that misses its session fails the run in the host)
        assert.strictEqual(run.ops, 2_000)
        assert.isTrue(Number.isFinite(run.p50) && run.p50 >= 0 && run.p99 >= run.p50)
      }
      const table = storeTable("test", "MemStore 4 vs Map", results, [
        { subject: "MemStore (Effect 4)", against: mapJsonCeiling.name }
      ])
      assert.match(table.rows[0]![7]!, /^\d+\.\d+× \(.+\) vs Map \+ JSON \(ceiling\)$/, "a ratio with its range")
    } finally {
      await host.dispose()
    }
  })

  it("reports a failure in the host as a failed run, not a hang", async () => {
    const host = await RemoteHost.start(4, "children/store-host.ts", { sources: true })
    try {
      const subject = host.subject("nope", { engine: "bogus" } as never)
      const error = await subject.open(makeWorkload(10, 10)).then(() => undefined, (e: Error) => e)
      assert.match(String(error?.message), /effect4 store host/)
    } finally {
      await host.dispose()
    }
  })
})
