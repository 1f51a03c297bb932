/**
 * Examples started as the README starts them: a separate Node process on a free port (`exampleProcess.ts`), as
 * Effects whose scope stops the process.
 */
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import { freePort, launchExample, stopProcess } from "./exampleProcess.js"

export { freePort }

/** Starts an example on a free port and waits until it answers; the process is killed when the scope closes. */
export const startExample = (file: string, env: Record<string, string>, probe: string) =>
  Effect.acquireRelease(Effect.promise(() => launchExample(file, env, probe)), ({ child }) => stop(child))

export const stop = (child: ChildProcess) => Effect.promise(() => stopProcess(child))
