/**
 * Small statistics helpers: percentiles over latency samples, medians and ranges over rounds.
 */

/** The `q` quantile (0..1) of the first `count` values of `samples` (nearest rank). Sorts a copy. */
export const percentiles = (
  samples: Float64Array,
  count: number,
  qs: ReadonlyArray<number>
): Array<number> => {
  if (count === 0) return qs.map(() => Number.NaN)
  const sorted = samples.slice(0, count).sort()
  return qs.map((q) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]!)
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const min = (values: ReadonlyArray<number>): number => Math.min(...values)
export const max = (values: ReadonlyArray<number>): number => Math.max(...values)
