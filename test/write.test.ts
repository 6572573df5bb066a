import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../packages/compiler/src/compile.js";
import { ConfigIssuesError } from "../packages/compiler/src/errors.js";
import { JOURNAL_DIR, LOCK_FILE, WriteError, writeOutput } from "../packages/compiler/src/write.js";
import { baseConfig, tempDir } from "./helpers.js";

/** A project folder with a plain-object caja.config.mjs (no imports, so it loads from anywhere). */
function project(config: unknown = baseConfig()): string {
  const dir = tempDir("caja-write-");
  writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(config, null, 2)};\n`);
  return dir;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else out[`${rel}${name}`] = readFileSync(p, "utf8");
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out;
}

describe("writing out/", () => {
  it("writes every root and the manifest, then rewrites nothing when nothing changed", async () => {
    const dir = project();
    const first = await compile({ cwd: dir });
    expect(first.write!.written).toContain("global/00-bootstrap/main.tf.json");
    expect(first.write!.written).toContain("manifest.json");
    const mtime = statSync(join(dir, "out/manifest.json")).mtimeMs;
    const second = await compile({ cwd: dir });
    expect(second.write).toEqual({ written: [], removed: [], unchanged: first.files.length });
    expect(statSync(join(dir, "out/manifest.json")).mtimeMs).toBe(mtime);
  });

  it("leaves out/ exactly as it was when the config is invalid", async () => {
    const dir = project();
    await compile({ cwd: dir });
    const before = snapshot(join(dir, "out"));
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify({ ...baseConfig(), region: "mars-1" })};\n`);
    await expect(compile({ cwd: dir })).rejects.toBeInstanceOf(ConfigIssuesError);
    expect(snapshot(join(dir, "out"))).toEqual(before);
  });

  it("never touches files caja did not generate", async () => {
    const dir = project();
    await compile({ cwd: dir });
    const root = join(dir, "out/global/00-bootstrap");
    mkdirSync(join(root, ".terraform/providers"), { recursive: true });
    writeFileSync(join(root, ".terraform/providers/marker"), "x");
    writeFileSync(join(root, "terraform.tfstate"), "{\"version\":4}");
    writeFileSync(join(root, ".terraform.lock.hcl"), "# lock");
    writeFileSync(join(root, "notes.md"), "mine");
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify({ ...baseConfig(), tags: { Owner: "sre", Confidentiality: "internal", CostCenter: "x" } })};\n`);
    const result = await compile({ cwd: dir });
    expect(result.write!.written).toContain("global/00-bootstrap/main.tf.json");
    expect(readFileSync(join(root, ".terraform/providers/marker"), "utf8")).toBe("x");
    expect(readFileSync(join(root, "terraform.tfstate"), "utf8")).toBe("{\"version\":4}");
    expect(readFileSync(join(root, ".terraform.lock.hcl"), "utf8")).toBe("# lock");
    expect(readFileSync(join(root, "notes.md"), "utf8")).toBe("mine");
  });

  it("prunes the files of roots that are no longer generated, but keeps a root folder that holds user files", async () => {
    const dir = tempDir("caja-prune-");
    const out = join(dir, "out");
    const file = (path: string, content = "{}\n") => ({ path, content });
    await writeOutput(out, [file("a/main.tf.json"), file("b/main.tf.json"), file("c/main.tf.json"), file("manifest.json")], { previous: [] });
    writeFileSync(join(out, "c/terraform.tfstate"), "state");
    const result = await writeOutput(out, [file("a/main.tf.json"), file("manifest.json", "{\"v\":2}\n")], {
      previous: ["a/main.tf.json", "b/main.tf.json", "c/main.tf.json", "manifest.json"],
    });
    expect([...result.removed].sort()).toEqual(["b/main.tf.json", "c/main.tf.json"]);
    expect(existsSync(join(out, "b"))).toBe(false);
    expect(readFileSync(join(out, "c/terraform.tfstate"), "utf8")).toBe("state");
    expect(existsSync(join(out, "c/main.tf.json"))).toBe(false);
  });

  it("only prunes the selected environment's roots with --env", async () => {
    const dir = project();
    await compile({ cwd: dir });
    const config = { ...baseConfig(), environments: { dev: {}, staging: {}, prod: {} } };
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(config)};\n`);
    const result = await compile({ cwd: dir, envs: ["dev"] });
    expect(result.write!.written.every((p) => p.startsWith("dev/") || p.startsWith("global/") || p === "manifest.json")).toBe(true);
  });

  it("rolls a committed but interrupted write forward, and discards an uncommitted one", async () => {
    const out = join(tempDir("caja-journal-"), "out");
    await writeOutput(out, [{ path: "a/main.tf.json", content: "old\n" }], { previous: [] });
    // Committed: journal.json present, one file staged, as if killed mid-apply.
    mkdirSync(join(out, JOURNAL_DIR, "files"), { recursive: true });
    writeFileSync(join(out, JOURNAL_DIR, "files/0"), "new\n");
    writeFileSync(join(out, JOURNAL_DIR, "journal.json"), JSON.stringify({ write: [{ from: "files/0", to: "a/main.tf.json" }], remove: [] }));
    await writeOutput(out, [{ path: "a/main.tf.json", content: "new\n" }], { previous: ["a/main.tf.json"] });
    expect(readFileSync(join(out, "a/main.tf.json"), "utf8")).toBe("new\n");
    expect(existsSync(join(out, JOURNAL_DIR))).toBe(false);
    // Uncommitted: staged files but no journal.json: never applied.
    mkdirSync(join(out, JOURNAL_DIR, "files"), { recursive: true });
    writeFileSync(join(out, JOURNAL_DIR, "files/0"), "half\n");
    await writeOutput(out, [{ path: "a/main.tf.json", content: "new\n" }], { previous: ["a/main.tf.json"] });
    expect(readFileSync(join(out, "a/main.tf.json"), "utf8")).toBe("new\n");
    expect(existsSync(join(out, JOURNAL_DIR))).toBe(false);
  });

  it.each([
    ["ENOSPC", "no space left on the device"],
    ["EROFS", "the file system is read-only"],
    ["EACCES", "permission denied"],
  ])("fails clearly on %s and leaves the previous output intact", async (code, words) => {
    const out = join(tempDir("caja-fault-"), "out");
    await writeOutput(out, [{ path: "a/main.tf.json", content: "old\n" }, { path: "b/main.tf.json", content: "old\n" }], { previous: [] });
    let calls = 0;
    const failing = async (path: string, content: string) => {
      // The second file fails: the first is already staged, so this proves staging is all-or-nothing.
      if (++calls === 2) throw Object.assign(new Error(`${code}: injected`), { code, path });
      writeFileSync(path, content);
    };
    const attempt = writeOutput(out, [{ path: "a/main.tf.json", content: "new\n" }, { path: "b/main.tf.json", content: "new\n" }], {
      previous: ["a/main.tf.json", "b/main.tf.json"],
      writeFile: failing,
    });
    await expect(attempt).rejects.toBeInstanceOf(WriteError);
    await expect(attempt).rejects.toThrow(words);
    expect(readFileSync(join(out, "a/main.tf.json"), "utf8")).toBe("old\n");
    expect(readFileSync(join(out, "b/main.tf.json"), "utf8")).toBe("old\n");
    expect(existsSync(join(out, JOURNAL_DIR))).toBe(false);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it("fails clearly at the commit point too (journal.json cannot be written), leaving the previous output", async () => {
    const out = join(tempDir("caja-fault-"), "out");
    await writeOutput(out, [{ path: "a/main.tf.json", content: "old\n" }], { previous: [] });
    const failing = async (path: string, content: string) => {
      if (path.endsWith("journal.json.tmp")) throw Object.assign(new Error("ENOSPC: injected"), { code: "ENOSPC", path });
      writeFileSync(path, content);
    };
    const attempt = writeOutput(out, [{ path: "a/main.tf.json", content: "new\n" }, { path: "b/main.tf.json", content: "new\n" }], { previous: ["a/main.tf.json"], writeFile: failing });
    await expect(attempt).rejects.toThrow("no space left on the device. The previous output is unchanged.");
    expect(readFileSync(join(out, "a/main.tf.json"), "utf8")).toBe("old\n");
    expect(existsSync(join(out, "b"))).toBe(false);
    expect(existsSync(join(out, JOURNAL_DIR))).toBe(false);
  });

  it("prunes what the manifest on disk lists, even when the caller read an older one (a compile that ran meanwhile)", async () => {
    const out = join(tempDir("caja-race-"), "out");
    const manifest = (...files: string[]) => ({ path: "manifest.json", content: `${JSON.stringify({ files: [...files, "manifest.json"] })}\n` });
    await writeOutput(out, [{ path: "a/main.tf.json", content: "a\n" }, manifest("a/main.tf.json")], { previous: [] });
    // Two compiles read that manifest; the first writes b/ in place of a/...
    await writeOutput(out, [{ path: "b/main.tf.json", content: "b\n" }, manifest("b/main.tf.json")], { previous: ["a/main.tf.json", "manifest.json"] });
    // ...then the second, with its stale list, must still remove b/: else out/ would mix both.
    await writeOutput(out, [{ path: "c/main.tf.json", content: "c\n" }, manifest("c/main.tf.json")], { previous: ["a/main.tf.json", "manifest.json"] });
    expect(snapshot(out)).toEqual({ "c/main.tf.json": "c\n", "manifest.json": manifest("c/main.tf.json").content });
  });

  it("serialises two writers in one process: the result is exactly one of them", async () => {
    const out = join(tempDir("caja-together-"), "out");
    const output = (tag: string, roots: string[]) => [
      ...roots.map((r) => ({ path: `${r}/main.tf.json`, content: `${tag}\n` })),
      { path: "manifest.json", content: `${JSON.stringify({ files: [...roots.map((r) => `${r}/main.tf.json`), "manifest.json"] })}\n` },
    ];
    const x = output("x", ["dev", "staging"]);
    const y = output("y", ["dev", "qa"]);
    await Promise.all([writeOutput(out, x, { previous: [] }), writeOutput(out, y, { previous: [] })]);
    const files = snapshot(out);
    const as = (o: typeof x) => Object.fromEntries(o.map((f) => [f.path, f.content]));
    expect([as(x), as(y)]).toContainEqual(files);
  });

  it("cleans up what a killed compile left while taking the lock", async () => {
    const out = join(tempDir("caja-lock-"), "out");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LOCK_FILE), "999999999 0123456789ab");
    writeFileSync(join(out, `${LOCK_FILE}.999999999.0a1b2c3d`), "999999999 0a1b2c3d");
    writeFileSync(join(out, `${LOCK_FILE}.stale.999999998.0a1b2c3d`), "999999997 0a1b2c3d");
    await writeOutput(out, [{ path: "manifest.json", content: "{}\n" }], { previous: [], lockTimeoutMs: 300 });
    expect(readdirSync(out).sort()).toEqual(["manifest.json"]);
  });

  it("waits for a compile that holds the lock, then fails naming it", async () => {
    const out = join(tempDir("caja-lock-"), "out");
    mkdirSync(out, { recursive: true });
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 10000)"]);
    try {
      writeFileSync(join(out, LOCK_FILE), String(holder.pid));
      const attempt = writeOutput(out, [{ path: "manifest.json", content: "{}\n" }], { previous: [], lockTimeoutMs: 300 });
      await expect(attempt).rejects.toThrow(`another caja compile (pid ${holder.pid}) is writing`);
      expect(existsSync(join(out, "manifest.json"))).toBe(false);
    } finally {
      holder.kill();
    }
  });

  it("takes over a lock whose holder died", async () => {
    const out = join(tempDir("caja-lock-"), "out");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LOCK_FILE), "999999999");
    await writeOutput(out, [{ path: "manifest.json", content: "{}\n" }], { previous: [], lockTimeoutMs: 300 });
    expect(readFileSync(join(out, "manifest.json"), "utf8")).toBe("{}\n");
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });
});
