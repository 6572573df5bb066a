/**
 * What the pipeline asks of caja besides plan and apply: the roots a change touches, the step
 * outputs naming each scope's roots, and the one pull-request comment, created once and then
 * edited in place (against a local stand-in for GitHub's REST API).
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { changedRoots, COMMENT_MARKER, commentBody, isPipelineRoot, rootOutputs, upsertComment, type Fetch } from "../packages/compiler/src/run/ci.js";
import type { Manifest, ManifestRoot } from "../packages/compiler/src/run/manifest.js";
import type { Compiled } from "../packages/compiler/src/pipeline.js";
import { compileWith } from "./helpers.js";

function root(id: string, dependsOn: readonly string[]): ManifestRoot {
  const [scope, dir] = id.split("/") as [string, string];
  return {
    id,
    dir: id,
    scope,
    phase: dir.replace(/^\d+-/, ""),
    backend: { type: "s3", key: `${id}/terraform.tfstate` },
    dependsOn: dependsOn.map((d) => ({ root: d, reason: "reads", outputs: ["id"] })),
    outputs: ["id"],
    todos: [],
  };
}

/** In apply order, as the compiler writes it: dev/70-dns reads dev/20-network through two roots. */
const manifest: Manifest = {
  roots: [
    root("global/00-bootstrap", []),
    root("global/10-domain", ["global/00-bootstrap"]),
    root("dev/20-network", ["global/00-bootstrap"]),
    root("staging/20-network", ["global/00-bootstrap"]),
    root("dev/30-persistence", ["global/00-bootstrap", "dev/20-network"]),
    root("dev/40-platform", ["global/00-bootstrap"]),
    root("dev/50-service", ["dev/30-persistence", "global/10-domain", "dev/40-platform"]),
    root("staging/50-service", ["staging/20-network", "global/10-domain"]),
    root("dev/70-dns", ["dev/50-service"]),
  ],
};

const sorted = (ids: Iterable<string>) => [...ids].sort();

describe("changedRoots", () => {
  it("selects the root with a changed file and every root that reads it, however indirectly", () => {
    expect(sorted(changedRoots(manifest, ["out/dev/20-network/main.tf.json"], "out"))).toEqual(["dev/20-network", "dev/30-persistence", "dev/50-service", "dev/70-dns"]);
  });

  it("reaches roots of other scopes through a global root", () => {
    expect(sorted(changedRoots(manifest, ["README.md", "out/global/10-domain/main.tf.json"], "out"))).toEqual(["dev/50-service", "dev/70-dns", "global/10-domain", "staging/50-service"]);
  });

  it("selects nothing for files outside the output folder or outside any root's folder", () => {
    expect(sorted(changedRoots(manifest, ["caja.config.ts", "dev/20-network/main.tf.json", "out/docs/dev.md", "out/manifest.json", "docs/out/dev/20-network/main.tf.json"], "out"))).toEqual([]);
  });

  it("does not take a folder for a root whose name it starts with", () => {
    expect(sorted(changedRoots(manifest, ["out/dev/20-network-old/main.tf.json", "out/dev/20-networkx"], "out"))).toEqual([]);
  });

  it("honours another output folder, with or without a trailing slash, and the current folder", () => {
    const files = ["infra/tf/dev/40-platform/main.tf.json", "out/staging/20-network/main.tf.json"];
    expect(sorted(changedRoots(manifest, files, "infra/tf"))).toEqual(["dev/40-platform", "dev/50-service", "dev/70-dns"]);
    expect(sorted(changedRoots(manifest, files, "infra/tf/"))).toEqual(["dev/40-platform", "dev/50-service", "dev/70-dns"]);
    expect(sorted(changedRoots(manifest, ["staging/50-service/main.tf.json"], "."))).toEqual(["staging/50-service"]);
  });
});

describe("rootOutputs", () => {
  let compiled: Compiled | undefined;
  const plan = () => (compiled ??= compileWith()).plan;

  it("names every pipeline root per scope, and the administered roots apart", () => {
    const envRoots = (env: string) => ["20-network", "30-persistence", "40-platform", "50-service", "60-static-site", "70-dns", "80-observability", "90-hardening"].map((p) => `${env}/${p}`).join(" ");
    expect(rootOutputs(plan(), undefined)).toEqual([
      "global=global/10-domain global/90-hardening",
      `dev=${envRoots("dev")}`,
      `staging=${envRoots("staging")}`,
      `prod=${envRoots("prod")}`,
      "administered=global/00-bootstrap global/05-iam-oidc",
    ]);
  });

  it("keeps the bootstrap root (local state) and the administrator's OIDC root out of the pipeline", () => {
    const byId = (id: string) => plan().roots.find((r) => r.id === id)!;
    expect(isPipelineRoot(byId("global/00-bootstrap"))).toBe(false);
    expect(isPipelineRoot(byId("global/05-iam-oidc"))).toBe(false);
    expect(isPipelineRoot(byId("global/10-domain"))).toBe(true);
  });

  it("with a changed set, names only those roots, leaving a scope without one empty", () => {
    const changed = new Set(["global/10-domain", "dev/30-persistence", "prod/90-hardening", "global/05-iam-oidc", "nowhere/10-x"]);
    expect(rootOutputs(plan(), changed)).toEqual(["global=global/10-domain", "dev=dev/30-persistence", "staging=", "prod=prod/90-hardening", "administered=global/05-iam-oidc"]);
    expect(rootOutputs(plan(), new Set())).toEqual(["global=", "dev=", "staging=", "prod=", "administered="]);
  });
});

describe("commentBody", () => {
  it("starts with the marker and has one section per scope, saying which job left no plan", () => {
    const body = commentBody({
      summaries: [
        { name: "global", text: "### caja plan: global\n\nNo changes.\n\n" },
        { name: "dev", text: undefined },
      ],
      administered: ["global/00-bootstrap", "global/05-iam-oidc"],
      runUrl: "https://github.com/o/r/actions/runs/9",
    });
    expect(body.split("\n")).toEqual([
      COMMENT_MARKER,
      "## caja plan",
      "",
      "### caja plan: global",
      "",
      "No changes.",
      "",
      "### dev",
      "",
      "No plan: the job failed or did not run; see the workflow run.",
      "",
      "Changed roots an administrator applies (not planned here): <code>global/00-bootstrap</code>, <code>global/05-iam-oidc</code>.",
      "",
      "[The workflow run](https://github.com/o/r/actions/runs/9): plans, logs and artifacts.",
    ]);
  });

  it("says when no pipeline root changed, and strips markup from administered root ids", () => {
    const body = commentBody({ summaries: [], administered: ["global/<b>00</b>-bootstrap"] });
    expect(body).toBe(
      [COMMENT_MARKER, "## caja plan", "", "No root of the pipeline changed.", "", "Changed roots an administrator applies (not planned here): <code>global/b00/b-bootstrap</code>.", ""].join("\n"),
    );
  });

  it("stays under GitHub's 65,536 characters, saying it was cut", () => {
    const body = commentBody({ summaries: [{ name: "dev", text: "x".repeat(70_000) }, { name: "prod", text: "y".repeat(70_000) }], administered: [] });
    expect(body.length).toBeLessThan(65_536);
    expect(body.startsWith(`${COMMENT_MARKER}\n## caja plan\n\n`)).toBe(true);
    expect(body.endsWith("x\n\n(truncated: the full plans are in the workflow run)")).toBe(true);
    expect(body).not.toContain("y");
  });
});

describe("upsertComment", () => {
  interface Seen {
    readonly method: string;
    readonly url: string;
    readonly authorization: string | undefined;
    readonly body: unknown;
  }

  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((done) => s.close(done));
    }
  });

  /** GitHub's issue-comment endpoints for pull request 7 of o/r, serving `pages` of comments. */
  async function gitHub(pages: readonly { id: number; body: string; user: { type: string } }[][], options: { status?: number } = {}): Promise<{ api: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const server = createServer(async (req, res) => {
      const body = await read(req);
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: body ? JSON.parse(body) : undefined });
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (options.status) return reply(options.status, { message: "Resource not accessible by integration" });
      const list = /^\/repos\/o\/r\/issues\/7\/comments\?per_page=100&page=(\d+)$/.exec(req.url!);
      if (req.method === "GET" && list) return reply(200, pages[Number(list[1]) - 1] ?? []);
      const edit = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(req.url!);
      if (req.method === "PATCH" && edit) return reply(200, { id: Number(edit[1]), ...(JSON.parse(body) as object) });
      if (req.method === "POST" && req.url === "/repos/o/r/issues/7/comments") return reply(201, { id: 9000, ...(JSON.parse(body) as object) });
      reply(404, { message: "Not Found" });
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  const TOKEN = "ghs_s3cretT0kenValue";
  const others = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, body: i === 3 ? `quoting the bot: ${COMMENT_MARKER}` : `looks good ${from + i}`, user: { type: "User" } }));
  const bot = { type: "Bot" };
  const body = `${COMMENT_MARKER}\n## caja plan\n\nnew plans`;
  const fetchImpl: Fetch = fetch;

  it("edits caja's comment in place, found on a later page", async () => {
    const { api, seen } = await gitHub([others(1, 100), [...others(101, 2), { id: 4242, body: `${COMMENT_MARKER}\nold plans`, user: bot }]]);
    expect(await upsertComment({ api: `${api}/`, repository: "o/r", pr: 7, token: TOKEN }, body, fetchImpl)).toBe("updated");
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /repos/o/r/issues/7/comments?per_page=100&page=1",
      "GET /repos/o/r/issues/7/comments?per_page=100&page=2",
      "PATCH /repos/o/r/issues/comments/4242",
    ]);
    expect(seen[2]!.body).toEqual({ body });
    expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it("creates the comment when no comment carries the marker", async () => {
    const { api, seen } = await gitHub([others(1, 3)]);
    expect(await upsertComment({ api, repository: "o/r", pr: 7, token: TOKEN }, body, fetchImpl)).toBe("created");
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["GET /repos/o/r/issues/7/comments?per_page=100&page=1", "POST /repos/o/r/issues/7/comments"]);
    expect(seen[1]!.body).toEqual({ body });
    expect(seen[1]!.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("never edits a marked comment a person wrote: its author could change the plans shown", async () => {
    const { api, seen } = await gitHub([[{ id: 66, body: `${COMMENT_MARKER}\nfake plans`, user: { type: "User" } }]]);
    expect(await upsertComment({ api, repository: "o/r", pr: 7, token: TOKEN }, body, fetchImpl)).toBe("created");
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["GET /repos/o/r/issues/7/comments?per_page=100&page=1", "POST /repos/o/r/issues/7/comments"]);
  });

  it("reads the next page after a full one before deciding to create", async () => {
    const { api, seen } = await gitHub([others(1, 100)]);
    expect(await upsertComment({ api, repository: "o/r", pr: 7, token: TOKEN }, body, fetchImpl)).toBe("created");
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /repos/o/r/issues/7/comments?per_page=100&page=1",
      "GET /repos/o/r/issues/7/comments?per_page=100&page=2",
      "POST /repos/o/r/issues/7/comments",
    ]);
  });

  it("turns a refusal into an error naming the status and the call, never the token", async () => {
    const { api, seen } = await gitHub([], { status: 403 });
    const failure = upsertComment({ api, repository: "o/r", pr: 7, token: TOKEN }, body, fetchImpl);
    await expect(failure).rejects.toThrow(new Error(`GitHub answered 403 to GET ${api}/repos/o/r/issues/7/comments: {"message":"Resource not accessible by integration"}`));
    await expect(failure).rejects.not.toThrow(TOKEN);
    expect(seen).toHaveLength(1);
  });
});

function read(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => done(text));
    req.on("error", fail);
  });
}
