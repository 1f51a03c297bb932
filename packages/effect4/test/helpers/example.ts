/**
 * The Effect 4 examples started as the README starts them: a separate Node process (this one's Node, 22) on a free
 * port, from this package's folder (`../../../../test/helpers/exampleProcess.ts`, Effect-free, shared by both lines).
 */
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { freePort, launchExample, stopProcess } from "../../../../test/helpers/exampleProcess.js"

export { freePort }

/** The folder of the Effect 4 package: example paths such as `examples/basic.ts` are relative to it. */
export const packageDir = fileURLToPath(new URL("../../", import.meta.url))

/** Starts an example on a free port and waits until it answers; the process is killed when the scope closes. */
export const startExample = (file: string, env: Record<string, string>, probe: string) =>
  Effect.acquireRelease(
    Effect.promise(() => launchExample(file, env, probe, packageDir)),
    ({ child }) => stop(child)
  )

export const stop = (child: ChildProcess) => Effect.promise(() => stopProcess(child))
