import { it } from "vitest";
import { NETWORKING, SECURITY } from "@caja/modules";
import { rdsPostgres } from "../../packages/modules/src/rds-postgres.js";
import { secrets } from "../../packages/modules/src/secrets.js";
import { baseConfig, compileWith } from "../helpers.js";
import { phasesFor, standIn } from "../modules-harness.js";
it("dump", () => {
  const ex = (c: any) => Object.fromEntries(c.outputs.map((o: string) => [o, "x"]));
  const c = compileWith(baseConfig(), { phases: phasesFor([rdsPostgres, secrets], [standIn(NETWORKING, ex(NETWORKING)), standIn(SECURITY, ex(SECURITY))], { number: 3, dir: "30-persistence" }) });
  for (const f of c.files) if (f.path.startsWith("prod/30")) console.log(f.path, f.content);
});
