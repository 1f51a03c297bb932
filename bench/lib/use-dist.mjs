// `node --import tsx --import ./bench/lib/use-dist.mjs`: see dist-hooks.mjs.
import { register } from "node:module"

register("./dist-hooks.mjs", import.meta.url)
