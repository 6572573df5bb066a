import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    // The terraform suites spawn their own parallel work; keep file-level parallelism modest on 2 cores.
    maxWorkers: 2,
  },
});
