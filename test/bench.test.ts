/**
 * The benchmark harness (`npm run bench`) starts and measures: one tiny MemStore vs `Map` + JSON workload through
 * the same code the full run uses, and the table row it produces. No timing assertions: timings on shared
 * machines are not tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { renderTable } from "../bench/lib/table.js"
import { makeWorkload, storedSizes } from "../bench/lib/workload.js"
import { parseArgs, settingsFor } from "../bench/run.js"
import { IN_FLIGHT_64, runGroup, SEQUENTIAL, STORE_COLUMNS, storeTable } from "../bench/store/group.js"
import { effectSubject, mapJsonCeiling } from "../bench/store/subjects.js"
import * as MemStore from "../src/MemStore.js"

describe("bench harness", () => {
  it("parses its arguments", () => {
    assert.deepStrictEqual(parseArgs(["--quick", "--only=store,file"]).only, ["store", "file"])
    assert.isTrue(parseArgs(["--quick"]).quick)
    assert.throws(() => parseArgs(["--only=nope"]))
    assert.strictEqual(settingsFor(false).store.ops, 100_000)
    assert.strictEqual(settingsFor(false).store.sessions, 10_000)
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
})
