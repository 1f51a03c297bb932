/**
 * Result tables: each section builds a `Table`, which is printed to the terminal and written to
 * `bench/results/latest.md` as Markdown (readable in both places).
 */
import { max, median, min } from "./stats.js"

export interface Table {
  readonly title: string
  readonly columns: ReadonlyArray<string>
  readonly rows: Array<ReadonlyArray<string>>
  readonly notes: Array<string>
}

export const makeTable = (title: string, columns: ReadonlyArray<string>): Table => ({
  title,
  columns,
  rows: [],
  notes: []
})

const escapeCell = (cell: string): string => cell.replace(/\|/g, "\\|")

/** Renders a table as Markdown, columns padded so that it also reads well in a terminal. */
export const renderTable = (table: Table): string => {
  const widths = table.columns.map((column, i) =>
    Math.max(3, column.length, ...table.rows.map((row) => escapeCell(row[i] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => escapeCell(cell).padEnd(widths[i]!)).join(" | ")} |`
  const out = [`### ${table.title}`, "", line(table.columns), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`]
  for (const row of table.rows) out.push(line(table.columns.map((_, i) => row[i] ?? "")))
  if (table.notes.length > 0) {
    out.push("")
    for (const note of table.notes) out.push(`- ${note}`)
  }
  return out.join("\n") + "\n"
}

// ---- formatting ----

/** 1234567 -> "1,234,567"; small values keep 3 significant digits. */
export const fmtRate = (value: number): string => {
  if (!Number.isFinite(value)) return "n/a"
  if (value >= 100) return Math.round(value).toLocaleString("en-US")
  return value.toPrecision(3)
}

/** A compact number: 1234567 -> "1.23M", 12345 -> "12.3k". */
export const fmtCompact = (value: number): string => {
  if (!Number.isFinite(value)) return "n/a"
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`
  if (abs >= 1e3) return `${(value / 1e3).toPrecision(3)}k`
  return value.toPrecision(3)
}

export const fmtRange = (values: ReadonlyArray<number>): string =>
  values.length < 2 ? "" : `${fmtCompact(min(values))}–${fmtCompact(max(values))}`

/** A latency given in milliseconds, shown in µs below 1 ms. */
export const fmtLatency = (ms: number): string => {
  if (!Number.isFinite(ms)) return "n/a"
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`
  if (ms < 100) return `${ms.toPrecision(3)} ms`
  return `${Math.round(ms)} ms`
}

export const fmtBytes = (bytes: number): string => {
  if (!Number.isFinite(bytes)) return "n/a"
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${Math.round(bytes)} B`
}

export const fmtRatio = (ratio: number): string =>
  !Number.isFinite(ratio) ? "n/a" : ratio >= 10 ? `${ratio.toFixed(1)}×` : `${ratio.toFixed(2)}×`

// ---- targets ----

export type Verdict = "PASS" | "MISS" | "info"

/** A target: `measured op bound`, e.g. a ratio `>= 1.5`, or a stall `<= 20` (ms). */
export interface Target {
  readonly op: ">=" | "<="
  readonly bound: number
}

export const atLeast = (bound: number): Target => ({ op: ">=", bound })
export const atMost = (bound: number): Target => ({ op: "<=", bound })

export const fmtTarget = (target: Target | undefined, unit = "×"): string =>
  target === undefined ? "—" : `${target.op === ">=" ? "≥" : "≤"} ${target.bound}${unit}`

export const verdict = (value: number, target: Target | undefined): Verdict =>
  target === undefined
    ? "info"
    : !Number.isFinite(value)
    ? "MISS"
    : (target.op === ">=" ? value >= target.bound : value <= target.bound)
    ? "PASS"
    : "MISS"

/** One checked target, kept for the summary at the end of the run. */
export interface CheckResult {
  readonly section: string
  readonly what: string
  readonly measured: string
  readonly target: string
  readonly verdict: Verdict
}

export const checks: Array<CheckResult> = []

/**
 * A ratio cell from per-round ratios (`ours_i / theirs_i`, measured in the same round): the median, with the
 * range across rounds in parentheses.
 */
export const ratioCell = (ratios: ReadonlyArray<number>, against: string): string => {
  const m = median(ratios)
  const range = ratios.length < 2 ? "" : ` (${fmtRatio(min(ratios))}–${fmtRatio(max(ratios))})`
  return `${fmtRatio(m)}${range} vs ${against}`
}

/** Adds the ratio, target and verdict cells for one check, and records the check for the summary. */
export const checkCells = (
  section: string,
  what: string,
  ratios: ReadonlyArray<number>,
  against: string,
  target: Target | undefined
): [string, string, Verdict] => {
  const m = median(ratios)
  const v = verdict(m, target)
  if (target !== undefined) {
    checks.push({
      section,
      what: `${what} vs ${against}`,
      measured: fmtRatio(m),
      target: fmtTarget(target),
      verdict: v
    })
  }
  return [ratioCell(ratios, against), fmtTarget(target), v]
}
