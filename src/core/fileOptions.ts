/**
 * FileStore's options, checked without Effect (the durations are checked by each line's shell, with its
 * `Duration`).
 *
 * @internal
 */
import { type CompactionPolicy, DEFAULT_MIN_SIZE } from "./fileCompaction.js"

/** @internal */
export type SyncMode = "always" | "everysec" | "never"

/** The checked `path` and `sync`, or why they are invalid. @internal */
export const checkPathAndSync = (
  options: { readonly path?: unknown; readonly sync?: unknown }
): { readonly path: string; readonly sync: SyncMode } | string => {
  if (typeof options?.path !== "string" || options.path.length === 0) return "path must be a non-empty string"
  const sync = options.sync ?? "everysec"
  if (sync !== "always" && sync !== "everysec" && sync !== "never") {
    return `sync must be "always", "everysec" or "never", got ${JSON.stringify(sync)}`
  }
  return { path: options.path, sync }
}

/** The compaction policy of the `compaction` option, or why it is invalid. @internal */
export const checkCompaction = (
  compaction: false | { readonly minSize?: number | undefined } | undefined
): { readonly policy: CompactionPolicy } | string => {
  if (compaction === false) return { policy: false }
  const minSize = compaction?.minSize ?? DEFAULT_MIN_SIZE
  if (!Number.isSafeInteger(minSize) || minSize < 0) {
    return `compaction.minSize must be a non-negative integer, got ${String(minSize)}`
  }
  return { policy: { minSize } }
}

/** What opening does with damage in the middle of the log. @internal */
export type OnCorruption = "skip" | "refuse"

/** The checked `onCorruption`, or why it is invalid. @internal */
export const checkOnCorruption = (onCorruption: unknown): OnCorruption | { readonly invalid: string } => {
  const value = onCorruption ?? "skip"
  return value === "skip" || value === "refuse"
    ? value
    : { invalid: `onCorruption must be "skip" or "refuse", got ${JSON.stringify(onCorruption)}` }
}
