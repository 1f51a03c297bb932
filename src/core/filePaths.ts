/**
 * Where FileStore's files live. The log's real path is resolved once, when the store opens, and every other path is
 * derived from it: the lock, the compaction and rewrite files, the files damaged bytes are kept aside in, the folder
 * that is fsynced after a rename, the rename target. So two spellings of one log (a symbolic link and its target, a
 * relative and an absolute path) are one store with one lock, and a compaction replaces the target of a link, never
 * the link.
 *
 * The resolution is a small state machine that asks the shell for file system answers:
 *
 * ```ts
 * const resolver = new PathResolver(path)
 * for (let step = resolver.next(); ; step = resolver.next()) {
 *   if (step._tag === "RealFolder") resolver.folderIs(realPath(step.folder))
 *   else if (step._tag === "ReadLink") resolver.linkIs(readLinkOrUndefined(step.path))
 *   else break // Done (step.path) or Fail (step.why)
 * }
 * ```
 *
 * - Each folder is canonicalized (links in folder names resolved); the folder must exist.
 * - A symbolic link is followed, at most `MAX_LINKS` times; a relative target is resolved against the link's folder
 *   (not the working directory).
 * - A path that does not exist (a link to a log not created yet) is where the log will be created.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import * as Path from "node:path"

/** How many symbolic links the resolution follows before giving up (as the kernel's ELOOP does). @internal */
export const MAX_LINKS = 32

/** The mode of every file FileStore creates: the log, its lock, temporary and kept-aside files. @internal */
export const FILE_MODE = 0o600

/** @internal */
export type ResolveStep =
  /** Answer with the canonical path of `folder` (`folderIs`); if it cannot be resolved, fail. */
  | { readonly _tag: "RealFolder"; readonly folder: string }
  /** Answer with the target of the link at `path`, or `undefined` when it is not a link or does not exist. */
  | { readonly _tag: "ReadLink"; readonly path: string }
  | { readonly _tag: "Done"; readonly path: string }
  | { readonly _tag: "Fail"; readonly why: string }

/** Resolves a log path to its real path (see the module's documentation). @internal */
export class PathResolver {
  private current: string
  private links = 0
  private state: "folder" | "link" | "done" | "fail" = "folder"

  constructor(readonly path: string, cwd: string = process.cwd()) {
    this.current = Path.resolve(cwd, path)
  }

  next(): ResolveStep {
    switch (this.state) {
      case "folder":
        return { _tag: "RealFolder", folder: Path.dirname(this.current) }
      case "link":
        return { _tag: "ReadLink", path: this.current }
      case "done":
        return { _tag: "Done", path: this.current }
      case "fail":
        return { _tag: "Fail", why: `more than ${MAX_LINKS} symbolic links to follow from ${this.path}` }
    }
  }

  /** The canonical path of the folder asked for. */
  folderIs(realFolder: string): void {
    this.current = Path.join(realFolder, Path.basename(this.current))
    this.state = "link"
  }

  /** The target of the link asked for, or `undefined`: the path is the log's real path. */
  linkIs(target: string | undefined): void {
    if (target === undefined) this.state = "done"
    else if (++this.links > MAX_LINKS) this.state = "fail"
    else {
      this.current = Path.resolve(Path.dirname(this.current), target)
      this.state = "folder"
    }
  }
}

/** Every path of a store, derived from the log's real path. @internal */
export interface LogPaths {
  /** The log's real path: what is opened, and what a compaction or a rewrite is renamed over. */
  readonly log: string
  /** The one-writer lock. */
  readonly lock: string
  /** A compaction's temporary file. */
  readonly compact: string
  /** The temporary file of a rewrite from memory (after damage, a truncation, or to upgrade the format). */
  readonly rewrite: string
  /** The folder to fsync after a file in it was created or renamed. */
  readonly folder: string
  /** Where the damaged bytes found at an open are kept, `stamp` naming the open (say, the time). */
  readonly damaged: (stamp: string) => string
}

/** The paths of the store whose log's real path is `log`. @internal */
export const logPaths = (log: string): LogPaths => ({
  log,
  lock: `${log}.lock`,
  compact: `${log}.compact`,
  rewrite: `${log}.rewrite`,
  folder: Path.dirname(log),
  damaged: (stamp) => `${log}.damaged-${stamp}`
})

/** A name for the files of one open (the wall-clock time, and random characters: two opens never collide). @internal */
export const asideStamp = (): string =>
  `${new Date().toISOString().replace(/[-:.]/g, "")}-${Crypto.randomBytes(3).toString("hex")}`
