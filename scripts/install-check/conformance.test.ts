// The conformance suite, from the packed package's `effect-session/testing`, against its MemStore (both lines).
import { MemStore } from "effect-session"
import { storeConformance } from "effect-session/testing"

storeConformance("MemStore (packed)", () => MemStore.layer(), { clock: "test" })
