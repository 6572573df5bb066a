/**
 * Private S3 buckets, as every caja bucket is made: versioned, SSE-S3, all four public-access
 * blocks, ACLs off (BucketOwnerEnforced) and a policy that refuses plain HTTP and TLS < 1.2.
 */
import { jsonDocument } from "./expr.js";
import { denyInsecureTransport, type Statement } from "./policies.js";
import type { Handle, Lifecycle, RootBuilder } from "./root.js";

export interface PrivateBucket {
  readonly bucket: Handle<"aws_s3_bucket">;
  readonly publicAccessBlock: Handle<"aws_s3_bucket_public_access_block">;
}

/** The bucket with versioning, SSE-S3 and the public-access block; its policy comes from {@link bucketPolicy}. */
export function privateBucket(root: RootBuilder, label: string, name: string, lifecycle?: Lifecycle): PrivateBucket {
  const bucket = root.resource("aws_s3_bucket", label, { bucket: name, force_destroy: false }, lifecycle ? { lifecycle } : {});
  root.resource("aws_s3_bucket_versioning", label, {
    bucket: bucket.attr("id"),
    versioning_configuration: { status: "Enabled" },
  });
  root.resource("aws_s3_bucket_server_side_encryption_configuration", label, {
    bucket: bucket.attr("id"),
    rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" }, bucket_key_enabled: false }],
  });
  const publicAccessBlock = root.resource("aws_s3_bucket_public_access_block", label, {
    bucket: bucket.attr("id"),
    block_public_acls: true,
    block_public_policy: true,
    ignore_public_acls: true,
    restrict_public_buckets: true,
  });
  return { bucket, publicAccessBlock };
}

/**
 * The bucket's policy (the TLS-only denials after `allow`) and its ownership controls. Separate
 * from {@link privateBucket} because a policy may name what is built from the bucket (a CloudFront
 * distribution).
 */
export function bucketPolicy(root: RootBuilder, label: string, { bucket, publicAccessBlock }: PrivateBucket, bucketArn: string, ...allow: Statement[]): Handle<"aws_s3_bucket_policy"> {
  const policy = root.resource(
    "aws_s3_bucket_policy",
    label,
    { bucket: bucket.attr("id"), policy: jsonDocument(denyInsecureTransport(bucketArn, ...allow)) },
    // Writing the policy while the public-access block is still being applied fails with
    // "conflicting conditional operation"; ownership controls then follow both.
    { dependsOn: [publicAccessBlock] },
  );
  root.resource(
    "aws_s3_bucket_ownership_controls",
    label,
    { bucket: bucket.attr("id"), rule: { object_ownership: "BucketOwnerEnforced" } },
    { dependsOn: [publicAccessBlock, policy] },
  );
  return policy;
}
