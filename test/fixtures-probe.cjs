// Preloaded into a caja process by test/startup.test.ts: at exit, lists the CommonJS modules it
// loaded (typescript and ts-morph are CommonJS, so they show up here if anything imported them),
// and node:crypto.
// `--require` also preloads into worker threads (the config runs in one): report from the main thread only.
if (require("node:worker_threads").isMainThread) process.on("exit", () => {
  const loaded = Object.keys(require.cache).filter((p) => /node_modules[\\/](typescript|ts-morph|@ts-morph)[\\/]/.test(p));
  // Node's own modules are not in require.cache: crypto (2 ms to load) is listed by name.
  if (process.moduleLoadList.includes("NativeModule crypto")) loaded.push("node:crypto");
  process.stderr.write(`caja-probe-loaded=${JSON.stringify(loaded)}\n`);
});
