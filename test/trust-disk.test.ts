/**
 * What caja reads back from disk is untrusted: a journal, a manifest, a lock, symbolic links in
 * out/ (or out/ itself, or .github/workflows/), the caches in a shared temp folder. Whoever
 * planted them, caja moves, writes and deletes nothing outside out/ (and the workflow file),
 * deletes only files of the kinds it generates, and runs or trusts nothing another user could
 * have written.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheName } from "../packages/compiler/src/cache.js";
import { BUNDLE_FORMAT } from "../packages/compiler/src/load.js";
import { JOURNAL_DIR, LOCK_FILE, manifestFiles, writeOutput } from "../packages/compiler/src/write.js";
import { baseConfig, CAJA_BIN, fileTree, tempDir } from "./helpers.js";

/**
 * A folder holding a project (`proj/`, with a plain caja.config.mjs that imports nothing, so it
 * loads from anywhere) and a folder beside it (`victim/`) that nothing may touch. Each run of
 * caja gets this folder's own temp folder, so its caches are this test's alone.
 */
function workspace(config: unknown = baseConfig()) {
  const base = tempDir("caja-trust-");
  const proj = join(base, "proj");
  const victim = join(base, "victim");
  const tmp = join(base, "tmp");
  mkdirSync(proj);
  mkdirSync(tmp);
  mkdirSync(join(victim, "nested"), { recursive: true });
  writeFileSync(join(victim, "credentials"), "aws_secret_access_key = do-not-move\n");
  writeFileSync(join(victim, "file.txt"), "do not delete\n");
  writeFileSync(join(victim, "nested/main.tf.json"), "{\"precious\":true}\n");
  const configFile = join(proj, "caja.config.mjs");
  const setConfig = (value: unknown) => writeFileSync(configFile, `export default ${JSON.stringify(value, null, 2)};\n`);
  setConfig(config);
  const caja = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd: proj, encoding: "utf8", env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { base, proj, victim, tmp, out: join(proj, "out"), configFile, setConfig, caja };
}

/** A refusal as the user sees it: exit 1, the one message, no stack trace, nothing on stdout. */
function expectRefused(run: { code: number | null; stdout: string; stderr: string }, message: string): void {
  expect(run.stderr).toBe(`caja: ${message}\n`);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
}

function plantJournal(out: string, journal: unknown): void {
  mkdirSync(join(out, JOURNAL_DIR, "files"), { recursive: true });
  writeFileSync(join(out, JOURNAL_DIR, "journal.json"), typeof journal === "string" ? journal : JSON.stringify(journal));
}

const withTags = (owner: string) => ({ ...baseConfig(), tags: { ...baseConfig().tags, Owner: owner } });

describe("a journal left in out/ (issue 11, item 1)", () => {
  it("that moves a file from outside out/ into it and deletes another is refused, naming it, and nothing moves", () => {
    const w = workspace();
    expect(w.caja("compile").code).toBe(0);
    plantJournal(w.out, { write: [{ from: "../../../victim/credentials", to: "docs/leaked.txt" }], remove: ["../../victim/file.txt"] });
    const before = { out: fileTree(w.out), victim: fileTree(w.victim) };
    for (const command of ["compile", "docs"]) {
      expectRefused(
        w.caja(command),
        'out/.caja-journal/journal.json: refused: entry "../../../victim/credentials" leaves out/; nothing was changed. Remove out/.caja-journal if you did not create it.',
      );
      expect({ out: fileTree(w.out), victim: fileTree(w.victim) }).toEqual(before);
    }
    // Once the user removes it, the compile goes on as usual.
    rmSync(join(w.out, JOURNAL_DIR), { recursive: true });
    expect(w.caja("compile").code).toBe(0);
    expect(fileTree(w.victim)).toEqual(before.victim);
  });

  it.each([
    ["a write to a path that leaves out/", { write: [{ from: "files/x", to: "../victim/file.txt" }], remove: [] }, 'entry "../victim/file.txt" leaves out/'],
    ["an absolute path to move", { write: [{ from: "/etc/hostname", to: "docs/x.md" }], remove: [] }, 'entry "/etc/hostname" is an absolute path'],
    ["an absolute path to delete", { write: [], remove: ["/tmp/victim/file.txt"] }, 'entry "/tmp/victim/file.txt" is an absolute path'],
    ["a deletion that leaves out/", { write: [], remove: ["dev/../../../victim/file.txt"] }, 'entry "dev/../../../victim/file.txt" leaves out/'],
    ["a deletion of the bootstrap state", { write: [], remove: ["global/00-bootstrap/terraform.tfstate"] }, 'entry "global/00-bootstrap/terraform.tfstate" is not a file caja generates'],
    ["a write over a provider lock file", { write: [{ from: "files/x", to: "dev/20-network/.terraform.lock.hcl" }], remove: [] }, 'entry "dev/20-network/.terraform.lock.hcl" is not a file caja generates'],
    ["a NUL byte", { write: [], remove: ["dev/20-network/main.tf.json\u0000x"] }, 'entry "dev/20-network/main.tf.json\\u0000x" is not a plain relative path'],
    ["a number for a path", { write: [], remove: [42] }, "entry 42 is not a path"],
    ["no lists at all", { moves: [] }, "it is not a journal caja writes (a regular file of JSON with write and remove lists)"],
  ])("with %s is refused, and out/ and the folder beside it are unchanged", async (_what, journal, why) => {
    const w = workspace();
    const out = w.out;
    await writeOutput(out, [{ path: "dev/20-network/main.tf.json", content: "old\n" }], { previous: [] });
    writeFileSync(join(out, "dev/20-network/terraform.tfstate"), "{\"version\":4}");
    mkdirSync(join(out, "global/00-bootstrap"), { recursive: true });
    writeFileSync(join(out, "global/00-bootstrap/terraform.tfstate"), "{\"version\":4}");
    plantJournal(out, journal);
    writeFileSync(join(out, JOURNAL_DIR, "files/x"), "planted\n");
    const before = { out: fileTree(out), victim: fileTree(w.victim) };
    const attempt = writeOutput(out, [{ path: "dev/20-network/main.tf.json", content: "new\n" }], { previous: [], show: (p) => p.replace(`${w.proj}/`, "") });
    await expect(attempt).rejects.toThrow(`out/.caja-journal/journal.json: refused: ${why}; nothing was changed. Remove out/.caja-journal if you did not create it.`);
    expect({ out: fileTree(out), victim: fileTree(w.victim) }).toEqual(before);
  });

  it("whose staged file or folder is a symbolic link is refused: a link to anywhere never moves into out/", async () => {
    const w = workspace();
    await writeOutput(w.out, [{ path: "dev/20-network/main.tf.json", content: "old\n" }], { previous: [] });
    plantJournal(w.out, { write: [{ from: "files/dev/20-network/main.tf.json", to: "dev/20-network/main.tf.json" }], remove: [] });
    mkdirSync(join(w.out, JOURNAL_DIR, "files/dev"), { recursive: true });
    symlinkSync(join(w.victim, "nested"), join(w.out, JOURNAL_DIR, "files/dev/20-network"));
    const before = { out: fileTree(w.out), victim: fileTree(w.victim) };
    const show = (p: string) => p.replace(`${w.proj}/`, "");
    await expect(writeOutput(w.out, [], { previous: [], show })).rejects.toThrow(
      `out/.caja-journal/journal.json: refused: entry "files/dev/20-network/main.tf.json" passes through out/.caja-journal/files/dev/20-network, a symbolic link (to ${join(w.victim, "nested")}); nothing was changed.`,
    );
    rmSync(join(w.out, JOURNAL_DIR, "files/dev/20-network"));
    mkdirSync(join(w.out, JOURNAL_DIR, "files/dev/20-network"));
    symlinkSync(join(w.victim, "credentials"), join(w.out, JOURNAL_DIR, "files/dev/20-network/main.tf.json"));
    await expect(writeOutput(w.out, [], { previous: [], show })).rejects.toThrow('entry "files/dev/20-network/main.tf.json" passes through out/.caja-journal/files/dev/20-network/main.tf.json, a symbolic link');
    expect(fileTree(w.victim)).toEqual(before.victim);
    expect(readFileSync(join(w.out, "dev/20-network/main.tf.json"), "utf8")).toBe("old\n");
  });

  it("in a journal folder that is a symbolic link is not read: the link is named", () => {
    const w = workspace();
    expect(w.caja("compile").code).toBe(0);
    mkdirSync(join(w.victim, "journal"));
    writeFileSync(join(w.victim, "journal/journal.json"), JSON.stringify({ write: [], remove: ["manifest.json"] }));
    symlinkSync(join(w.victim, "journal"), join(w.out, JOURNAL_DIR));
    const before = { out: fileTree(w.out), victim: fileTree(w.victim) };
    expectRefused(w.caja("compile"), `out/.caja-journal is a symbolic link (to ${join(w.victim, "journal")}); caja does not write through links. Remove it and compile again.`);
    expect({ out: fileTree(w.out), victim: fileTree(w.victim) }).toEqual(before);
  });

  it("that caja wrote itself, interrupted, is still finished by the next compile", async () => {
    const w = workspace();
    await writeOutput(w.out, [{ path: "dev/20-network/main.tf.json", content: "old\n" }, { path: "staging/20-network/main.tf.json", content: "old\n" }], { previous: [] });
    plantJournal(w.out, { write: [{ from: "files/dev/20-network/main.tf.json", to: "dev/20-network/main.tf.json" }], remove: ["staging/20-network/main.tf.json"] });
    mkdirSync(join(w.out, JOURNAL_DIR, "files/dev/20-network"), { recursive: true });
    writeFileSync(join(w.out, JOURNAL_DIR, "files/dev/20-network/main.tf.json"), "new\n");
    await writeOutput(w.out, [{ path: "dev/20-network/main.tf.json", content: "new\n" }], { previous: [] });
    expect(fileTree(w.out)).toEqual({ "dev/20-network/main.tf.json": "644 new\n" });
  });
});

describe("symbolic links (issue 11, item 2)", () => {
  /** A compiled workspace whose prod output was moved beside the project and linked back: what a compile writes there would land outside. */
  function prodLinkedElsewhere() {
    const w = workspace();
    expect(w.caja("compile").code).toBe(0);
    renameSync(join(w.out, "prod"), join(w.victim, "prod"));
    symlinkSync(join(w.victim, "prod"), join(w.out, "prod"));
    return { ...w, refusal: `out/prod is a symbolic link (to ${join(w.victim, "prod")}); caja does not write through links. Remove it and compile again.` };
  }

  it("an environment's folder linked elsewhere is never written through: the compile stops naming the link", () => {
    const w = prodLinkedElsewhere();
    w.setConfig(withTags("sre"));
    const before = { out: fileTree(w.out), victim: fileTree(w.victim) };
    expectRefused(w.caja("compile"), w.refusal);
    expect({ out: fileTree(w.out), victim: fileTree(w.victim) }).toEqual(before);
  });

  it("compile --check never calls a linked folder current, even when what it leads to matches", () => {
    const w = prodLinkedElsewhere();
    const r = w.caja("compile", "--check");
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("prod (a symbolic link, which caja does not write through)");
  });

  it("an environment's folder linked elsewhere is never deleted through when the environment goes", () => {
    const w = prodLinkedElsewhere();
    const { prod: _gone, ...environments } = baseConfig().environments as Record<string, unknown>;
    w.setConfig({ ...baseConfig(), environments });
    const before = { out: fileTree(w.out), victim: fileTree(w.victim) };
    expect(Object.keys(before.victim).filter((p) => p.startsWith("prod/")).length).toBe(16);
    expectRefused(w.caja("compile"), w.refusal);
    expect({ out: fileTree(w.out), victim: fileTree(w.victim) }).toEqual(before);
  });

  it("out/ itself linked elsewhere is refused before anything (not even the lock) is created", () => {
    const w = workspace();
    mkdirSync(join(w.victim, "out"));
    symlinkSync(join(w.victim, "out"), w.out);
    const before = fileTree(w.victim);
    expectRefused(w.caja("compile"), `out is a symbolic link (to ${join(w.victim, "out")}); caja does not write through links. Remove it and compile again.`);
    expectRefused(w.caja("docs"), `out is a symbolic link (to ${join(w.victim, "out")}); caja does not write through links. Remove it and compile again.`);
    expect(fileTree(w.victim)).toEqual(before);
  });

  it("a linked .github/workflows/ is refused before out/ is written", () => {
    const w = workspace();
    mkdirSync(join(w.proj, ".github"));
    symlinkSync(join(w.victim, "nested"), join(w.proj, ".github/workflows"));
    const before = fileTree(w.victim);
    expectRefused(w.caja("compile"), `.github/workflows is a symbolic link (to ${join(w.victim, "nested")}); caja does not write through links. Remove it and compile again.`);
    expect(fileTree(w.victim)).toEqual(before);
    expect(existsSync(w.out)).toBe(false);
  });

  it("a generated file or the workflow file that is a link is replaced by the file, its target untouched", () => {
    const w = workspace();
    expect(w.caja("compile").code).toBe(0);
    const expected = fileTree(w.out);
    const workflow = join(w.proj, ".github/workflows/infra-plan-apply.yml");
    const content = readFileSync(workflow, "utf8");
    // Same content behind the link: a comparison through it would find nothing to write.
    writeFileSync(join(w.victim, "root.json"), readFileSync(join(w.out, "dev/20-network/main.tf.json")));
    writeFileSync(join(w.victim, "workflow.yml"), content);
    rmSync(join(w.out, "dev/20-network/main.tf.json"));
    symlinkSync(join(w.victim, "root.json"), join(w.out, "dev/20-network/main.tf.json"));
    rmSync(workflow);
    symlinkSync(join(w.victim, "workflow.yml"), workflow);
    const victim = fileTree(w.victim);
    const r = w.caja("compile");
    expect(r.code, r.stderr).toBe(0);
    expect(fileTree(w.out)).toEqual(expected);
    expect(lstatSync(workflow).isFile()).toBe(true);
    expect(readFileSync(workflow, "utf8")).toBe(content);
    expect(fileTree(w.victim)).toEqual(victim);
  });

  it("a lock that is a link is not read through: it is taken over (the link removed) and its target untouched", async () => {
    const w = workspace();
    mkdirSync(w.out);
    // Were it read through, the lock would name a live process (this one) and the write would wait for it.
    writeFileSync(join(w.victim, "lock"), `${process.pid} 0123456789ab`);
    symlinkSync(join(w.victim, "lock"), join(w.out, LOCK_FILE));
    await writeOutput(w.out, [{ path: "manifest.json", content: "{}\n" }], { previous: [], lockTimeoutMs: 300 });
    expect(fileTree(w.out)).toEqual({ "manifest.json": "644 {}\n" });
    expect(readFileSync(join(w.victim, "lock"), "utf8")).toBe(`${process.pid} 0123456789ab`);
  });

  it("--env writes only its environment: a link in another environment's place is left alone", () => {
    const w = prodLinkedElsewhere();
    w.setConfig(withTags("sre"));
    const victim = fileTree(w.victim);
    const r = w.caja("compile", "--env", "dev");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(w.out, "dev/20-network/main.tf.json"), "utf8")).toContain('"Owner": "sre"');
    expect(fileTree(w.victim)).toEqual(victim);
    expectRefused(w.caja("compile", "--env", "prod"), w.refusal);
    expect(fileTree(w.victim)).toEqual(victim);
  });
});

describe("the manifest's file list (issue 11, item 3)", () => {
  const KEEP = [
    "global/00-bootstrap/terraform.tfstate",
    "global/00-bootstrap/terraform.tfstate.backup",
    "global/00-bootstrap/.terraform.lock.hcl",
    "global/00-bootstrap/.terraform/providers/marker",
    "dev/20-network/caja.tfplan",
    "dev/20-network/terraform.tfvars.json",
    "dev/20-network/override.tf.json",
    "dev/20-network/notes.md",
  ];

  it("never deletes state, plans, .terraform/, lock files or anything caja did not write, whatever it lists", () => {
    const w = workspace();
    expect(w.caja("compile").code).toBe(0);
    for (const path of KEEP) {
      mkdirSync(join(w.out, path, ".."), { recursive: true });
      writeFileSync(join(w.out, path), `${path}\n`);
    }
    const manifestPath = join(w.out, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    const hostile = [...KEEP, "global/00-bootstrap/.terraform", "../victim/file.txt", "../../victim/file.txt", join(w.victim, "file.txt"), "dev/../../victim/file.txt", "dev/20-network/main.tf.json\u0000.tfstate", 42, null, { path: "x" }, ["a"]];
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, files: [...manifest.files, ...hostile] }));
    const victim = fileTree(w.victim);
    // The next compile rewrites the manifest and deletes only what it generated before.
    w.setConfig({ ...baseConfig(), environments: { dev: {}, staging: {} } });
    const r = w.caja("compile");
    expect(r.code, r.stderr).toBe(0);
    for (const path of KEEP) expect(readFileSync(join(w.out, path), "utf8")).toBe(`${path}\n`);
    expect(existsSync(join(w.out, "prod"))).toBe(false);
    expect(fileTree(w.victim)).toEqual(victim);
  });

  it("keeps only plain relative paths of generated kinds, and ignores a list that is not one or is too large to be caja's", () => {
    const out = join(tempDir("caja-manifest-"), "out");
    mkdirSync(out);
    const write = (doc: unknown) => writeFileSync(join(out, "manifest.json"), typeof doc === "string" ? doc : JSON.stringify(doc));
    write({ files: ["manifest.json", "docs/phases.md", "dev/20-network/main.tf.json", "dev/20-network/main.tftest.json", "dev/20-network/main.tf.json", ".caja-journal/journal.json", "/etc/passwd", "a\\b/main.tf.json", "", 1] });
    expect(manifestFiles(out)).toEqual(["manifest.json", "docs/phases.md", "dev/20-network/main.tf.json", "dev/20-network/main.tftest.json"]);
    write({ files: "dev/20-network/main.tf.json" });
    expect(manifestFiles(out)).toEqual([]);
    write("{not json");
    expect(manifestFiles(out)).toEqual([]);
    // 70 MB of entries: not read at all (caja's own manifests are about 1 MB at 100 environments).
    write(`{"files":[${'"dev/20-network/main.tf.json",'.repeat(2_500_000)}"manifest.json"]}`);
    expect(manifestFiles(out)).toEqual([]);
  });
});

describe("shared caches (issue 11, item 4)", () => {
  const uid = process.getuid!();
  const cacheDir = (tmp: string) => join(tmp, `caja-cache-${uid}`);
  const recordName = cacheName;

  /** A config bundle that would leave a marker (and still compile) if caja ever ran it. */
  function plantBundle(w: ReturnType<typeof workspace>, folderMode: number, recordMode: number): string {
    const marker = join(w.base, "PLANTED-BUNDLE-RAN");
    const dir = cacheDir(w.tmp);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, folderMode);
    const code = `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "ran");\nexport default ${JSON.stringify(baseConfig())};\n`;
    const record = join(dir, recordName("bundle", w.configFile));
    writeFileSync(record, JSON.stringify({ format: BUNDLE_FORMAT, file: w.configFile, inputs: [{ path: w.configFile, bytes: readFileSync(w.configFile, "latin1") }], code }));
    chmodSync(record, recordMode);
    return marker;
  }

  /** The compile succeeds, and the planted bundle did not run. */
  function compilesWithoutRunning(w: ReturnType<typeof workspace>, marker: string): void {
    const r = w.caja("compile");
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
  }

  it("a record of the user's own, in a folder only they can write to, is used (so the ones below are refused for whose they are)", () => {
    const w = workspace();
    const marker = plantBundle(w, 0o700, 0o600);
    expect(w.caja("compile").code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it("a bundle planted in a cache folder others can write to is never run; the compile rebuilds it and succeeds", () => {
    const w = workspace();
    const marker = plantBundle(w, 0o777, 0o644);
    compilesWithoutRunning(w, marker);
    // Rebuilt: the folder is private again and the record is caja's own.
    expect(statSync(cacheDir(w.tmp)).mode & 0o022).toBe(0);
    const record = join(cacheDir(w.tmp), recordName("bundle", w.configFile));
    expect(readFileSync(record, "utf8")).not.toContain("PLANTED-BUNDLE-RAN");
    expect(statSync(record).mode & 0o077).toBe(0);
    compilesWithoutRunning(w, marker);
  });

  it("a bundle record others can write to is never run", () => {
    const w = workspace();
    const marker = plantBundle(w, 0o700, 0o666);
    compilesWithoutRunning(w, marker);
  });

  it.runIf(uid === 0)("a bundle record, or a cache folder, owned by another user is never run, and nothing is written into that folder", () => {
    const w = workspace();
    const marker = plantBundle(w, 0o700, 0o600);
    const record = join(cacheDir(w.tmp), recordName("bundle", w.configFile));
    chownSync(record, 4242, 4242);
    compilesWithoutRunning(w, marker);

    const v = workspace();
    const marker2 = plantBundle(v, 0o755, 0o600);
    chownSync(cacheDir(v.tmp), 4242, 4242);
    const planted = fileTree(cacheDir(v.tmp));
    compilesWithoutRunning(v, marker2);
    expect(fileTree(cacheDir(v.tmp))).toEqual(planted);
  });

  it("a cache folder that is a link elsewhere is neither read nor written", () => {
    const w = workspace();
    const marker = plantBundle(w, 0o700, 0o600);
    renameSync(cacheDir(w.tmp), join(w.victim, "cache"));
    symlinkSync(join(w.victim, "cache"), cacheDir(w.tmp));
    const victim = fileTree(w.victim);
    compilesWithoutRunning(w, marker);
    expect(fileTree(w.victim)).toEqual(victim);
  });

  describe("the last compile's record", () => {
    /** Compile twice (the second reuses), then hand the record to `tamper`; the next compile must run the pipeline. */
    function tampered(tamper: (record: any, file: string, w: ReturnType<typeof workspace>) => void) {
      const w = workspace();
      expect(w.caja("compile").code).toBe(0);
      expect(w.caja("compile").stdout).toMatch(/is up to date/);
      const file = join(cacheDir(w.tmp), recordName("compile", w.out));
      const record = JSON.parse(readFileSync(file, "utf8"));
      tamper(record, file, w);
      const r = w.caja("compile");
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^caja: compiled \d+ roots/);
      return w;
    }

    it("that others could have written is not trusted to skip the pipeline", () => {
      tampered((record, file) => {
        writeFileSync(file, JSON.stringify({ ...record, summary: { ...record.summary, roots: 999 } }));
        chmodSync(file, 0o666);
      });
    });

    it("naming a file outside out/ is not used (and that file is not looked at)", () => {
      tampered((record, file, w) => {
        const s = statSync(join(w.victim, "file.txt"));
        writeFileSync(file, JSON.stringify({ ...record, files: [...record.files, ["../../victim/file.txt", [s.size, s.mtimeMs, s.ctimeMs, s.ino]]] }), { mode: 0o600 });
      });
    });

    it("of another shape is not used, rather than failing the compile", () => {
      tampered((record, file) => writeFileSync(file, JSON.stringify({ ...record, summary: { ...record.summary, todos: "none" } }), { mode: 0o600 }));
    });
  });
});
