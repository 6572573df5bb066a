#!/usr/bin/env node
// A stand-in for the terraform binary, for driving the generated pipeline end to end without AWS
// (test/pipeline-e2e.test.ts). State lives in FAKE_TF_STATE, one file per backend key, so separate
// "jobs" (processes, working copies) share it as they would share the S3 bucket. A root "changes"
// when its main.tf.json differs from the one last applied; a saved plan is a JSON file naming what
// it was made from, and applying one refuses it when the root's state moved on since (as terraform
// refuses a stale plan). Every apply is appended to FAKE_TF_APPLIED: root, plan digest.
const { createHash, randomBytes } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const args = process.argv.slice(2);
const cwd = process.cwd();
const stateDir = process.env.FAKE_TF_STATE;
const sha = (data) => createHash("sha256").update(data).digest("hex");

function rootDoc() {
  return JSON.parse(fs.readFileSync(path.join(cwd, "main.tf.json"), "utf8"));
}
function stateFile(doc) {
  const key = doc.terraform.backend.s3 ? doc.terraform.backend.s3.key : `local/${sha(cwd)}`;
  return path.join(stateDir, `${key.replaceAll("/", "__")}.json`);
}
function readState(doc) {
  try {
    return JSON.parse(fs.readFileSync(stateFile(doc), "utf8"));
  } catch {
    return undefined;
  }
}
function done(stdout, code = 0) {
  if (stdout) process.stdout.write(`${stdout}\n`);
  process.exit(code);
}

const [command] = args;
if (command === "version") done(JSON.stringify({ terraform_version: "1.11.4" }));
if (command === "init") {
  fs.writeFileSync(path.join(cwd, ".terraform.lock.hcl"), '# fake lock\nprovider "registry.terraform.io/hashicorp/aws" {\n  version = "5.100.0"\n}\n');
  done("Terraform has been successfully initialized!");
}
const doc = rootDoc();
const state = readState(doc);
const configSha = sha(fs.readFileSync(path.join(cwd, "main.tf.json")));

if (command === "plan") {
  const out = args.find((a) => a.startsWith("-out="))?.slice(5);
  const resources = Object.entries(doc.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
  let changes = [];
  if (!state) changes = resources.map((address) => ({ address, change: { actions: ["create"] } }));
  else if (state.configSha !== configSha) changes = [{ address: resources[0] ?? "aws_thing.main", change: { actions: ["delete", "create"] } }];
  const plan = { nonce: randomBytes(8).toString("hex"), configSha, serial: state?.serial ?? 0, resource_changes: changes };
  if (out) fs.writeFileSync(path.join(cwd, out), JSON.stringify(plan));
  done(changes.length === 0 ? "No changes. Your infrastructure matches the configuration." : `Plan: ${changes.filter((c) => c.change.actions.includes("create")).length} to add, 0 to change, ${changes.filter((c) => c.change.actions.includes("delete")).length} to destroy.`);
}
if (command === "show") {
  const plan = JSON.parse(fs.readFileSync(path.join(cwd, args.at(-1)), "utf8"));
  done(JSON.stringify({ resource_changes: plan.resource_changes }));
}
if (command === "apply") {
  const file = path.join(cwd, args.at(-1));
  const bytes = fs.readFileSync(file);
  const plan = JSON.parse(bytes.toString("utf8"));
  if ((state?.serial ?? 0) !== plan.serial) done("Error: Saved plan is stale", 1);
  if (plan.configSha !== configSha) done("Error: the configuration changed since the plan was made", 1);
  const outputs = Object.fromEntries(Object.keys(doc.output ?? {}).map((name) => [name, { value: `${name}@${configSha.slice(0, 8)}` }]));
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(stateFile(doc), JSON.stringify({ serial: (state?.serial ?? 0) + 1, configSha, outputs }));
  fs.appendFileSync(process.env.FAKE_TF_APPLIED, `${JSON.stringify({ dir: cwd, plan: sha(bytes) })}\n`);
  done(`Apply complete! Resources: ${plan.resource_changes.length} changed.`);
}
if (command === "output") done(JSON.stringify(state ? state.outputs : {}));
if (command === "state") done(state ? "aws_thing.main" : "");
done(`fake terraform: unexpected ${args.join(" ")}`, 1);
