import * as MemStore from "../src/MemStore.js"
import { sessionSuite } from "./sessionSuite.js"

sessionSuite("MemStore", () => MemStore.layer())
