/**
 * Phase 0 — bootstrap (plan section 4): the state bucket, the lock table and the hosted zone of the
 * root domain, before any other root depends on them.
 *
 * Inputs: `state.bucket`, `state.lockTable`, `state.locking`, `domain.root`, `domain.hostedZoneId`.
 *
 * Outputs:
 * - `state_bucket_name`: the S3 bucket every root keeps its state in.
 * - `dynamodb_lock_table`: the lock table (`null` with `locking: "s3"`).
 * - `hosted_zone_id`: the zone later phases add records to.
 * - `name_servers`: the four NS values to enter at the registrar (the one manual step).
 *
 * Secure by default: versioning, SSE-S3, all four public-access blocks, BucketOwnerEnforced, a policy
 * denying non-TLS and TLS < 1.2, `prevent_destroy` on the bucket, table and zone; the table has
 * point-in-time recovery and encryption at rest.
 */
import { isTodo } from "@caja/dsl";
import { bucketPolicy, privateBucket } from "./core/buckets.js";
import { defineModule } from "./core/module.js";
import { BOOTSTRAP } from "./contracts.js";
import { NAME_RULES } from "./core/naming.js";

const NAME_SERVERS_EXAMPLE = ["ns-1536.awsdns-00.co.uk", "ns-0.awsdns-00.com", "ns-1024.awsdns-00.org", "ns-512.awsdns-00.net"];

export const bootstrap = defineModule(BOOTSTRAP, (ctx) => {
  const { root, config } = ctx;
  const { state, domain } = config;
  const protect = { prevent_destroy: true };

  const bucketName = ctx.claimName(state.bucket, NAME_RULES.s3Bucket);
  const stateBucket = privateBucket(root, "state", bucketName, protect);
  bucketPolicy(root, "state", stateBucket, stateBucket.bucket.attr("arn"));

  if (state.locking === "dynamodb") {
    root.resource(
      "aws_dynamodb_table",
      "locks",
      {
        name: ctx.claimName(state.lockTable, NAME_RULES.dynamodbTable),
        billing_mode: "PAY_PER_REQUEST",
        hash_key: "LockID",
        attribute: [{ name: "LockID", type: "S" }],
        point_in_time_recovery: { enabled: true },
        server_side_encryption: { enabled: true },
        deletion_protection_enabled: true,
      },
      { lifecycle: protect },
    );
    root.assert(`aws_dynamodb_table.locks.hash_key == "LockID"`, "the lock table is keyed by LockID, as the S3 backend expects");
    root.assert(`aws_dynamodb_table.locks.point_in_time_recovery[0].enabled == true`, "the lock table has point-in-time recovery");
  }

  const zone = root.resource(
    "aws_route53_zone",
    "root",
    { name: domain.root, comment: `Public zone of ${domain.root}, managed by caja (${config.project})`, force_destroy: false },
    { lifecycle: protect },
  );
  const existing = domain.hostedZoneId;
  if (existing !== undefined) {
    const id = ctx.decide(existing, {
      name: "hosted_zone_id",
      path: "domain.hostedZoneId",
      type: "string",
      example: "Z0123456789ABCDEFGHIJ",
      validation: [
        {
          condition: 'can(regex("^Z[A-Z0-9]{1,32}$", var.hosted_zone_id))',
          error_message: "hosted_zone_id must be a Route 53 zone id such as Z0123456789ABCDEFGHIJ.",
        },
      ],
    });
    root.importExisting(zone, id);
    // Mock providers cannot import; the generated test stands in the adopted zone's values.
    root.overrideInTest(zone, { zone_id: isTodo(existing) ? "Z0123456789ABCDEFGHIJ" : existing, name_servers: NAME_SERVERS_EXAMPLE });
  }

  root.output("state_bucket_name", { value: bucketName, description: "S3 bucket holding every root's Terraform state.", example: bucketName });
  root.output("dynamodb_lock_table", {
    value: state.locking === "dynamodb" ? state.lockTable : null,
    description: "DynamoDB table for state locking (null when the S3 lockfile is used).",
    example: state.locking === "dynamodb" ? state.lockTable : null,
  });
  root.output("hosted_zone_id", {
    value: existing !== undefined && !isTodo(existing) ? existing : zone.attr("zone_id"),
    description: `Route 53 hosted zone id of ${domain.root}.`,
    example: "Z0123456789ABCDEFGHIJ",
  });
  root.output("name_servers", {
    value: zone.list("name_servers"),
    description: `Name servers of ${domain.root}: enter these at the registrar (the one manual step).`,
    example: NAME_SERVERS_EXAMPLE,
  });

  root.assert(`aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"`, "the state bucket is versioned");
  root.assert(
    `one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"`,
    "the state bucket is encrypted with SSE-S3",
  );
  root.assert(
    `aws_s3_bucket_public_access_block.state.block_public_acls && aws_s3_bucket_public_access_block.state.block_public_policy && aws_s3_bucket_public_access_block.state.ignore_public_acls && aws_s3_bucket_public_access_block.state.restrict_public_buckets`,
    "every public-access block of the state bucket is on",
  );
  root.assert(`strcontains(aws_s3_bucket_policy.state.policy, "aws:SecureTransport")`, "the state bucket policy denies non-TLS access");
  root.assert(`aws_route53_zone.root.name == "${domain.root}"`, "the hosted zone is the root domain's");
});
