/**
 * Which roots may start now: a pure, dependency-aware scheduler. A root starts when every root
 * it depends on within the run has finished and a slot is free; ties go to the earlier root in
 * run order (the manifest's apply order, or its reverse for destroy), so with one slot a run is
 * exactly the manifest order, and with more the global roots start first and environments then
 * run side by side. After a failure nothing new starts; running roots finish.
 */
import type { ManifestRoot } from "./manifest.js";

export interface Job {
  readonly id: string;
  /** Jobs of the same run that must finish first. */
  readonly after: readonly string[];
}

/**
 * Jobs for a run over `roots` (in manifest order). `forward` (plan, apply): a root waits for the
 * roots it depends on. `reverse` (destroy): a root waits for the roots that depend on it, and the
 * order is reversed. Dependencies outside the run do not order it; the runner checks their state.
 */
export function jobsFor(roots: readonly ManifestRoot[], direction: "forward" | "reverse"): Job[] {
  const inRun = new Set(roots.map((r) => r.id));
  if (direction === "forward") {
    return roots.map((r) => ({ id: r.id, after: unique(r.dependsOn.map((d) => d.root).filter((id) => inRun.has(id))) }));
  }
  return [...roots].reverse().map((r) => ({
    id: r.id,
    after: roots.filter((c) => c.dependsOn.some((d) => d.root === r.id)).map((c) => c.id),
  }));
}

export class Scheduler {
  private readonly queue: Job[];
  private readonly running = new Set<string>();
  private readonly finished = new Set<string>();
  private failed = false;

  constructor(
    jobs: readonly Job[],
    private readonly slots: number,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`internal: scheduler needs at least one slot, got ${slots}`);
    const ids = new Set(jobs.map((j) => j.id));
    for (const job of jobs) {
      const unknown = job.after.find((a) => !ids.has(a));
      if (unknown) throw new Error(`internal: ${job.id} waits for ${unknown}, which is not in the run`);
    }
    this.queue = [...jobs];
  }

  /** Jobs to start now, in run order; they count as running until `finish`. */
  take(): string[] {
    const started: string[] = [];
    if (this.failed) return started;
    for (const job of [...this.queue]) {
      if (this.running.size >= this.slots) break;
      if (!job.after.every((a) => this.finished.has(a))) continue;
      this.queue.splice(this.queue.indexOf(job), 1);
      this.running.add(job.id);
      started.push(job.id);
    }
    if (started.length === 0 && this.running.size === 0 && this.queue.length > 0) {
      throw new Error(`internal: no job can start; ${this.queue.map((j) => `${j.id} waits for ${j.after.join(", ")}`).join("; ")}`);
    }
    return started;
  }

  /** A job ended; `ok: false` stops the run (nothing new starts). */
  finish(id: string, ok: boolean): void {
    if (!this.running.delete(id)) throw new Error(`internal: ${id} finished but was not running`);
    this.finished.add(id);
    if (!ok) this.failed = true;
  }

  /** True when nothing runs and nothing more will start. */
  get done(): boolean {
    return this.running.size === 0 && (this.failed || this.queue.length === 0);
  }

  /** Jobs that never started (after a failure), in run order. */
  get notStarted(): string[] {
    return this.queue.map((j) => j.id);
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
