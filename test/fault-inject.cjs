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

for (const name of ["writeFile", "rename", "unlink", "rm", "rmdir", "mkdir", "link", "open"]) {
  const original = fsp[name];
  fsp[name] = function (...args) {
    const target = String(args[0]);
    if (dir && (target === dir || target.startsWith(`${dir}/`))) {
      count++;
      if (log) ops.push(`${name} ${target.slice(dir.length)}${name === "rename" || name === "link" ? ` ${String(args[1]).slice(dir.length)}` : ""}`);
      if (count === at) {
        if (mode === "kill") {
          process.kill(process.pid, "SIGKILL");
          for (;;); // the signal is on its way; run nothing else meanwhile
        }
        return Promise.reject(Object.assign(new Error(`${mode}: injected`), { code: mode, path: target }));
      }
    }
    return original.apply(this, args);
  };
}
// The write stage uses synchronous calls for its per-file steps: count and fault those too.
for (const name of ["writeFileSync", "renameSync", "unlinkSync", "rmSync", "rmdirSync", "mkdirSync", "linkSync", "openSync"]) {
  const original = fs[name];
  fs[name] = function (...args) {
    const target = String(args[0]);
    if (dir && (target === dir || target.startsWith(`${dir}/`))) {
      count++;
      const op = name.replace(/Sync$/, "");
      if (log) ops.push(`${op} ${target.slice(dir.length)}${op === "rename" || op === "link" ? ` ${String(args[1]).slice(dir.length)}` : ""}`);
      if (count === at) {
        if (mode === "kill") {
          process.kill(process.pid, "SIGKILL");
          for (;;); // the signal is on its way; run nothing else meanwhile
        }
        throw Object.assign(new Error(`${mode}: injected`), { code: mode, path: target });
      }
    }
    return original.apply(this, args);
  };
}
syncBuiltinESMExports();
if (log) process.on("exit", () => fs.writeFileSync(log, ops.join("\n")));
