// Preloaded by bench/run.mjs for one run: reports the process's peak resident set size at exit.
process.on("exit", () => {
  if (process.env.CAJA_RSS_PROBE) process.stderr.write(`caja-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
