import { tempFileStore } from "./helpers/engines.js"
import { sessionSuite } from "./sessionSuite.js"

sessionSuite("FileStore", () => tempFileStore())
