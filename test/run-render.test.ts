/** What a run prints, and how a saved plan is counted. */
import { describe, expect, it } from "vitest";
import { hasChanges, NO_CHANGES, planChanges } from "../packages/compiler/src/run/changes.js";
import { duration, finishBlock, startLine, status, stillLine, summaryTable, type RootResult } from "../packages/compiler/src/run/render.js";

const at = (index: number, root: string) => ({ index, total: 9, root });
const created = { ...NO_CHANGES, add: 3 };

describe("progress lines", () => {
  it("number the root, name it and say what is happening", () => {
    expect(startLine(at(3, "dev/30-persistence"), "plan")).toBe("[3/9] dev/30-persistence  planning…");
    expect(stillLine(at(3, "dev/30-persistence"), "apply", 150_000)).toBe("[3/9] dev/30-persistence  applying… 2m 30s");
  });

  it("end with the status and the time, then terraform's output in a gutter without blank edges", () => {
    const block = finishBlock(at(3, "dev/30-persistence"), "plan", { root: "dev/30-persistence", ms: 12_400, outcome: { kind: "done", changes: created, applied: false, output: "\nPlan: 3 to add\n\n  # details  \n\n" } });
    expect(block).toEqual(["[3/9] dev/30-persistence  planned: 3 to add, 0 to change, 0 to destroy  12.4s", "  │ Plan: 3 to add", "  │", "  │   # details"]);
  });

  it("name the failed command and the log, shown relative to the working directory", () => {
    const block = finishBlock(
      at(1, "global/00-bootstrap"),
      "apply",
      { root: "global/00-bootstrap", ms: 3_900, outcome: { kind: "failed", command: "terraform plan -input=false", detail: "Error: bad", log: "/p/.caja/logs/apply/global/00-bootstrap.log" } },
      (p) => p.replace("/p/", ""),
    );
    expect(block).toEqual(["[1/9] global/00-bootstrap  FAILED at terraform plan -input=false  3.9s", "  │ Error: bad", "  │ full log: .caja/logs/apply/global/00-bootstrap.log"]);
  });

  it("say why a root was not planned", () => {
    expect(status("plan", { kind: "waits", for: "dev/20-network", missing: [] })).toBe("waits for dev/20-network (not applied yet)");
    expect(status("plan", { kind: "waits", for: "global/00-bootstrap", missing: ["hosted_zone_id"] })).toBe("waits for global/00-bootstrap (its state lacks hosted_zone_id)");
    expect(status("plan", { kind: "needs-aws", reads: ["data.aws_caller_identity.current"] })).toBe("needs AWS: reads data.aws_caller_identity.current, which trial mode cannot plan");
    expect(status("destroy", { kind: "needed-by", by: "dev/50-service" })).toBe("kept: dev/50-service still has state and depends on it");
    expect(status("destroy", { kind: "no-state" })).toBe("nothing to destroy (no state)");
    expect(status("apply", { kind: "done", changes: { ...NO_CHANGES, add: 2, change: 1, import: 1 }, applied: true, output: "" })).toBe("applied: 2 added, 1 changed, 0 destroyed, 1 imported");
    expect(status("apply", { kind: "done", changes: { ...NO_CHANGES, outputs: 2 }, applied: true, output: "" })).toBe("outputs updated");
    expect(status("destroy", { kind: "done", changes: { ...NO_CHANGES, destroy: 7 }, applied: true, output: "" })).toBe("destroyed: 7 destroyed");
  });

  it("format durations for people", () => {
    expect([duration(850), duration(12_400), duration(125_000), duration(3_600_000)]).toEqual(["850ms", "12.4s", "2m 05s", "60m 00s"]);
  });
});

describe("the summary table", () => {
  it("lines up a row per root with adds, changes, destroys and time, then the totals", () => {
    const results: RootResult[] = [
      { root: "global/00-bootstrap", ms: 5_200, outcome: { kind: "done", changes: { ...NO_CHANGES, add: 8 }, applied: false, output: "" } },
      { root: "global/10-domain", ms: 3, outcome: { kind: "waits", for: "global/00-bootstrap", missing: [] } },
      { root: "global/90-hardening", ms: 61_000, outcome: { kind: "done", changes: { ...NO_CHANGES, add: 4, change: 12, destroy: 1 }, applied: false, output: "" } },
      { root: "dev/20-network", ms: 0, outcome: { kind: "not-run" } },
    ];
    expect(summaryTable("plan", results)).toEqual([
      "root                 result                         add  change  destroy  time",
      "global/00-bootstrap  planned                          8       0        0  5.2s",
      "global/10-domain     waits for global/00-bootstrap    -       -        -  3ms",
      "global/90-hardening  planned                          4      12        1  1m 01s",
      "dev/20-network       not run                          -       -        -",
      "4 roots: 2 planned, 1 waiting, 1 not run; 12 to add, 12 to change, 1 to destroy",
    ]);
  });

  it("counts only what was applied after an apply, and runs for a test", () => {
    const applied = summaryTable("apply", [
      { root: "a", ms: 1000, outcome: { kind: "done", changes: created, applied: true, output: "" } },
      { root: "b", ms: 1000, outcome: { kind: "failed", command: "terraform apply", detail: "", log: "x" } },
    ]);
    expect(applied.at(-1)).toBe("2 roots: 1 applied, 1 FAILED; 3 added, 0 changed, 0 destroyed");
    const tested = summaryTable("test", [{ root: "dev/20-network", ms: 7_900, outcome: { kind: "passed", runs: 1 } }]);
    expect(tested).toEqual(["root            result  time", "dev/20-network  passed  7.9s", "1 root: 1 passed"]);
  });
});

describe("counting a saved plan", () => {
  it("counts like terraform: a replacement is an add and a destroy, reads and no-ops nothing", () => {
    const plan = {
      resource_changes: [
        { change: { actions: ["create"] } },
        { change: { actions: ["create"] } },
        { change: { actions: ["update"] } },
        { change: { actions: ["delete", "create"] } },
        { change: { actions: ["create", "delete"] } },
        { change: { actions: ["delete"] } },
        { change: { actions: ["read"] } },
        { change: { actions: ["no-op"] } },
        { change: { actions: ["no-op"], importing: { id: "Z0123" } } },
      ],
      output_changes: { a: { actions: ["create"] }, b: { actions: ["no-op"] } },
    };
    expect(planChanges(plan)).toEqual({ add: 4, change: 1, destroy: 3, import: 1, outputs: 1 });
    expect(hasChanges(planChanges(plan))).toBe(true);
  });

  it("sees output-only changes as something to apply, and an empty plan as nothing", () => {
    expect(hasChanges(planChanges({ resource_changes: [{ change: { actions: ["no-op"] } }], output_changes: { x: { actions: ["update"] } } }))).toBe(true);
    expect(hasChanges(planChanges({ format_version: "1.2" }))).toBe(false);
  });
});
