/** Trial mode's override and environment, reading state for readiness, and the terraform version gate. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareVersions, parseVersionJson } from "../packages/compiler/src/run/binary.js";
import { awsReads, offlineEnv, offlineOverride } from "../packages/compiler/src/run/offline.js";
import { localStateOutputs, outputValues } from "../packages/compiler/src/run/readiness.js";
import { compileWith, rootJson, tempDir } from "./helpers.js";

const SKIPS = { skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true };

describe("the offline override", () => {
  it("mirrors every aws provider block by alias, whether the root lists them or declares one object or none", () => {
    const listed = offlineOverride({ provider: { aws: [{ region: "us-east-1" }, { alias: "west", region: "us-west-2" }, { alias: "west" }] } });
    expect(listed.provider.aws).toEqual([expect.objectContaining(SKIPS), expect.objectContaining({ alias: "west", ...SKIPS })]);
    expect(listed.provider.aws[0]).not.toHaveProperty("alias");
    expect(offlineOverride({ provider: { aws: { alias: "only", region: "eu-west-1" } } }).provider.aws).toEqual([expect.objectContaining({ alias: "only", ...SKIPS })]);
    expect(offlineOverride({}).provider.aws).toEqual([expect.objectContaining(SKIPS)]);
  });

  it("finds the AWS data sources a generated root reads, and none in the bootstrap root", () => {
    const compiled = compileWith(undefined, { backend: "local" });
    expect(awsReads(rootJson(compiled, "global/00-bootstrap"))).toEqual([]);
    expect(awsReads(rootJson(compiled, "dev/20-network"))).toEqual(["data.aws_availability_zones.available", "data.aws_caller_identity.current"]);
    // Reading another root's state is local in trial mode, so it is no reason to need AWS.
    expect(awsReads(rootJson(compiled, "dev/70-dns"))).toEqual([]);
  });

  it("gives terraform fake keys and no profile, session or metadata service", () => {
    const env = offlineEnv({ PATH: "/bin", AWS_PROFILE: "prod-admin", AWS_SESSION_TOKEN: "t", AWS_ACCESS_KEY_ID: "AKIAREAL" });
    expect(env).toEqual({ PATH: "/bin", AWS_ACCESS_KEY_ID: "caja-trial-access-key", AWS_SECRET_ACCESS_KEY: "caja-trial-secret-key", AWS_EC2_METADATA_DISABLED: "true" });
  });
});

describe("reading state", () => {
  it("takes outputs from a local state file, and no file or an empty state as no state", async () => {
    const dir = tempDir("caja-state-");
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a/terraform.tfstate"), JSON.stringify({ version: 4, outputs: { vpc_id: { value: "vpc-1" } }, resources: [{}] }));
    writeFileSync(join(dir, "empty.tfstate"), JSON.stringify({ version: 4, outputs: {}, resources: [] }));
    writeFileSync(join(dir, "bad.tfstate"), "not json");
    expect(await localStateOutputs(join(dir, "a/terraform.tfstate"))).toEqual(new Map([["vpc_id", "vpc-1"]]));
    expect(await localStateOutputs(join(dir, "none.tfstate"))).toBeUndefined();
    expect(await localStateOutputs(join(dir, "empty.tfstate"))).toBeUndefined();
    await expect(localStateOutputs(join(dir, "bad.tfstate"))).rejects.toThrow(/is not a Terraform state file/);
  });

  it("takes outputs and their values from terraform output -json", () => {
    expect(outputValues(`{"vpc_id":{"sensitive":false,"type":"string","value":"vpc-1"}}\n`)).toEqual(new Map([["vpc_id", "vpc-1"]]));
    expect(outputValues("{}\n")).toBeUndefined();
  });
});

describe("the terraform version gate", () => {
  it("compares versions part by part, numerically", () => {
    expect(compareVersions("1.11.4", "1.7.0")).toBeGreaterThan(0);
    expect(compareVersions("1.6.6", "1.7.0")).toBeLessThan(0);
    expect(compareVersions("1.7.0-beta1", "1.7.0")).toBe(0);
    expect(compareVersions("2.0", "1.7.0")).toBeGreaterThan(0);
  });

  it("reads terraform version -json", () => {
    expect(parseVersionJson(`{"terraform_version":"1.11.4","platform":"linux_amd64"}`)).toBe("1.11.4");
    expect(parseVersionJson("Terraform v1.11.4")).toBeUndefined();
  });
});
