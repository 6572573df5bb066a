/**
 * Which roots run when: the scheduler and root selection, against the manifest the compiler
 * writes for a three-environment config. Simulated clock: each root takes one tick unless said.
 */
import { describe, expect, it } from "vitest";
import { parseManifest, selectRoots, SelectionError, type Manifest } from "../packages/compiler/src/run/manifest.js";
import { jobsFor, Scheduler, type Job } from "../packages/compiler/src/run/schedule.js";
import { compileWith, fileJson } from "./helpers.js";

const manifest: Manifest = parseManifest(JSON.stringify(fileJson(compileWith(), "manifest.json")), "manifest.json");
const ids = (m: Manifest) => m.roots.map((r) => r.id);

interface Timeline {
  readonly order: string[];
  readonly start: Map<string, number>;
  readonly end: Map<string, number>;
  readonly maxConcurrent: number;
}

/** Run the scheduler on a simulated clock. */
function simulate(jobs: readonly Job[], slots: number, duration: (id: string) => number = () => 1, fails?: string): Timeline {
  const s = new Scheduler(jobs, slots);
  const order: string[] = [];
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  const running = new Map<string, number>();
  let now = 0;
  let maxConcurrent = 0;
  for (;;) {
    for (const id of s.take()) {
      order.push(id);
      start.set(id, now);
      running.set(id, now + duration(id));
    }
    maxConcurrent = Math.max(maxConcurrent, running.size);
    if (s.done) break;
    const [id, at] = [...running].sort((a, b) => a[1] - b[1])[0]!;
    now = at;
    running.delete(id);
    end.set(id, now);
    s.finish(id, id !== fails);
  }
  return { order, start, end, maxConcurrent };
}

describe("selecting roots", () => {
  it("takes a scope's roots in manifest order, all scopes with all, and one phase by id or directory", () => {
    expect(selectRoots(manifest, ["dev"]).map((r) => r.id)).toEqual(ids(manifest).filter((id) => id.startsWith("dev/")));
    expect(selectRoots(manifest, ["global"]).map((r) => r.id)).toEqual(["global/00-bootstrap", "global/05-iam-oidc", "global/10-domain", "global/90-hardening"]);
    expect(selectRoots(manifest, ["all"]).map((r) => r.id)).toEqual(ids(manifest));
    expect(selectRoots(manifest, ["global"], "bootstrap").map((r) => r.id)).toEqual(["global/00-bootstrap"]);
    expect(selectRoots(manifest, ["dev", "prod"], "20-network").map((r) => r.id)).toEqual(["dev/20-network", "prod/20-network"]);
  });

  it("names the known environments and phases when a name is wrong", () => {
    expect(() => selectRoots(manifest, ["qa"])).toThrow(new SelectionError(`"qa" is neither "global", "all" nor an environment of this config (environments: dev, staging, prod)`));
    expect(() => selectRoots(manifest, ["global"], "network")).toThrow(/no phase "network" in global \(phases there: bootstrap, iam-oidc, domain, cost-allocation\)/);
  });

  it("rejects a file that is not a manifest", () => {
    expect(() => parseManifest("{}", "out/manifest.json")).toThrow("out/manifest.json is not a caja manifest; run caja compile to regenerate it");
    expect(() => parseManifest("{", "out/manifest.json")).toThrow(/not valid JSON/);
  });
});

describe("scheduling", () => {
  const forward = jobsFor(manifest.roots, "forward");

  it("runs one root at a time in exactly the manifest order", () => {
    expect(simulate(forward, 1).order).toEqual(ids(manifest));
  });

  it("never starts a root before the roots it depends on have finished, nor more than N at once", () => {
    for (const slots of [2, 3, 8]) {
      const t = simulate(forward, slots, (id) => 1 + (id.length % 3));
      expect(t.maxConcurrent).toBeLessThanOrEqual(slots);
      for (const root of manifest.roots) {
        for (const dep of root.dependsOn) expect(t.start.get(root.id)!, `${root.id} after ${dep.root}`).toBeGreaterThanOrEqual(t.end.get(dep.root)!);
      }
      expect(new Set(t.order)).toEqual(new Set(ids(manifest)));
    }
  });

  it("starts the global roots first, then runs the environments side by side", () => {
    const three = simulate(forward, 3);
    expect([...three.start].filter(([, at]) => at === 0).map(([id]) => id)).toEqual(["global/00-bootstrap"]);
    // Free slots go to the global roots before the environments' roots.
    expect(three.order.slice(1, 3)).toEqual(["global/05-iam-oidc", "global/10-domain"]);
    expect(three.maxConcurrent).toBe(3);
    // With enough slots, each phase runs in every environment at the same time.
    const wide = simulate(forward, manifest.roots.length);
    for (const phase of ["20-network", "30-persistence", "40-platform", "50-service", "60-static-site", "70-dns", "80-observability", "90-hardening"]) {
      expect(new Set(["dev", "staging", "prod"].map((e) => wide.start.get(`${e}/${phase}`))).size, phase).toBe(1);
    }
    expect(wide.start.get("dev/20-network")).toBe(wide.end.get("global/00-bootstrap"));
  });

  it("destroys in reverse: a root only after every root that depends on it", () => {
    const reverse = jobsFor(manifest.roots, "reverse");
    expect(simulate(reverse, 1).order).toEqual(ids(manifest).reverse());
    const t = simulate(reverse, 3);
    for (const root of manifest.roots) {
      for (const dep of root.dependsOn) expect(t.start.get(dep.root)!, `${dep.root} after ${root.id}`).toBeGreaterThanOrEqual(t.end.get(root.id)!);
    }
    expect(t.order.at(-1)).toBe("global/00-bootstrap");
  });

  it("orders a run only by dependencies inside it", () => {
    const dev = selectRoots(manifest, ["dev"]);
    const jobs = jobsFor(dev, "forward");
    expect(jobs.find((j) => j.id === "dev/20-network")!.after).toEqual([]);
    expect(jobs.find((j) => j.id === "dev/50-service")!.after).toEqual(["dev/20-network", "dev/40-platform", "dev/30-persistence"]);
  });

  it("starts nothing new after a failure and lists what never started", () => {
    const s = new Scheduler(jobsFor(manifest.roots, "forward"), 2);
    expect(s.take()).toEqual(["global/00-bootstrap"]);
    s.finish("global/00-bootstrap", true);
    expect(s.take()).toEqual(["global/05-iam-oidc", "global/10-domain"]);
    s.finish("global/05-iam-oidc", false);
    expect(s.take()).toEqual([]);
    expect(s.done).toBe(false);
    s.finish("global/10-domain", true);
    expect(s.take()).toEqual([]);
    expect(s.done).toBe(true);
    expect(s.notStarted).toEqual(ids(manifest).slice(3));
  });

  it("refuses jobs that wait for a job outside the run, and zero slots", () => {
    expect(() => new Scheduler([{ id: "a", after: ["b"] }], 1)).toThrow(/a waits for b, which is not in the run/);
    expect(() => new Scheduler([], 0)).toThrow(/at least one slot/);
  });
});
