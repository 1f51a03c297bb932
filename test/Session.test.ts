import * as MemStore from "../src/MemStore.js"
import { sessionSuite, tempFileStore } from "./sessionSuite.js"

sessionSuite("MemStore", () => MemStore.layer())
sessionSuite("FileStore", () => tempFileStore())
