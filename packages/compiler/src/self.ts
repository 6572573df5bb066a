/**
 * The caja package this CLI runs from: its folder holds `package.json`, `bin/` and `dist/`. A
 * config may import "caja" in a folder where no copy is installed (`npx caja` in an empty folder);
 * it then gets this copy's DSL.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The package folder, or undefined when caja runs from source (tests) rather than its bundle. */
export function ownPackageDir(): string | undefined {
  // The CLI bundle is CommonJS, so its folder (dist/) is known; source run as ES modules has none.
  const here = typeof __dirname === "string" ? __dirname : undefined;
  if (!here) return undefined;
  const dir = join(here, "..");
  return existsSync(join(dir, "package.json")) && existsSync(join(dir, "dist", "public.mjs")) ? dir : undefined;
}

/** What `import ... from "caja"` (or `"caja/module"`) loads from this package. */
export function ownPublicModule(specifier = "caja"): string | undefined {
  const dir = ownPackageDir();
  const file = { caja: "public.mjs", "caja/module": "module.mjs" }[specifier];
  return dir && file ? join(dir, "dist", file) : undefined;
}
