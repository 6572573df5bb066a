// Preloaded into the caja CLI by test/faults.test.ts (`node --require`): counts every change the
// process makes to the file system under CAJA_FAULT_DIR and, at the CAJA_FAULT_AT-th, either dies
// at once (SIGKILL, as kill -9 would) or makes that call fail with the error code CAJA_FAULT_MODE.
// With CAJA_FAULT_LOG it writes the list of changes it saw there on exit.
const fs = require("node:fs");
const fsp = require("node:fs/promises");
const { syncBuiltinESMExports } = require("node:module");

const dir = process.env.CAJA_FAULT_DIR;
const at = Number(process.env.CAJA_FAULT_AT || 0);
const mode = process.env.CAJA_FAULT_MODE || "kill";
const log = process.env.CAJA_FAULT_LOG;
const ops = [];
let count = 0;

/** Count a change under CAJA_FAULT_DIR; at the chosen one, die or say which error to raise. */
function fault(op, args) {
  const target = String(args[0]);
  if (!dir || (target !== dir && !target.startsWith(`${dir}/`))) return undefined;
  count++;
  if (log) ops.push(`${op} ${target.slice(dir.length)}${op === "rename" || op === "link" ? ` ${String(args[1]).slice(dir.length)}` : ""}`);
  if (count !== at) return undefined;
  if (mode === "kill") {
    process.kill(process.pid, "SIGKILL");
    for (;;); // the signal is on its way; run nothing else meanwhile
  }
  return Object.assign(new Error(`${mode}: injected`), { code: mode, path: target });
}

const OPS = ["writeFile", "rename", "unlink", "rm", "rmdir", "mkdir", "link", "open"];
for (const name of OPS) {
  const original = fsp[name];
  fsp[name] = function (...args) {
    const error = fault(name, args);
    return error ? Promise.reject(error) : original.apply(this, args);
  };
}
// The write stage uses synchronous calls for its per-file steps: count and fault those too.
for (const name of OPS) {
  const original = fs[`${name}Sync`];
  fs[`${name}Sync`] = function (...args) {
    const error = fault(name, args);
    if (error) throw error;
    return original.apply(this, args);
  };
}
syncBuiltinESMExports();
if (log) process.on("exit", () => fs.writeFileSync(log, ops.join("\n")));
