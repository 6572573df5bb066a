// Writes src/config.generated.ts (run by `npm run gen`).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONFIG_TYPES_FILE, generateConfigTypes } from "./config-types.js";

writeFileSync(fileURLToPath(CONFIG_TYPES_FILE), await generateConfigTypes());
