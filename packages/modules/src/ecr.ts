/**
 * Phase 4 — ecr (plan sections 3 and 6): the environment's API image repository. The image pipeline
 * pushes immutable tags (the commit sha); Terraform's task definition (phase 5) references one.
 *
 * Inputs: `project`, the environment's name.
 *
 * Outputs:
 * - `repository_url`: e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/caja/dev/api` (push/pull address).
 * - `repository_arn`: e.g. `arn:aws:ecr:us-east-1:123456789012:repository/caja/dev/api`.
 * - `repository_name`: e.g. `caja/dev/api` (known at compile time).
 *
 * Secure by default: IMMUTABLE tags (a deployed tag can never be repointed; CKV_AWS_51 / AWS-0031),
 * scan on push (CKV_AWS_163 / AWS-0030), explicit AES256 encryption at rest (a CMK, CKV_AWS_136, is a
 * warning by design), `force_delete = false` so a repository holding images is never destroyed by a
 * plan. A lifecycle policy bounds storage: untagged layers expire after 7 days and only the newest 30
 * tagged images are kept.
 */
import { jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { fitName, NAME_RULES } from "./core/naming.js";
import { ECR } from "./contracts.js";

/** Days an untagged image (an overwritten build, a failed push) is kept. */
export const UNTAGGED_EXPIRY_DAYS = 7;
/** Tagged images kept; older ones expire (roll back no further than this). */
export const TAGGED_IMAGES_KEPT = 30;

/** ECR lifecycle policy: rule priorities are distinct and evaluated lowest first. */
export function lifecyclePolicy(): Record<string, unknown> {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images ${UNTAGGED_EXPIRY_DAYS} days after push`,
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: UNTAGGED_EXPIRY_DAYS },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: `Keep the newest ${TAGGED_IMAGES_KEPT} tagged images`,
        selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: TAGGED_IMAGES_KEPT },
        action: { type: "expire" },
      },
    ],
  };
}

export const ecr = defineModule(ECR, (ctx) => {
  const { root, config, env, region } = ctx;

  // `<project>/<env>/api`: the namespace groups an environment's images and lets IAM scope pushes
  // with `repository/<project>/<env>/*`.
  const name = ctx.claimName(fitName(`${config.project}/${env.name}/api`, NAME_RULES.ecrRepository), NAME_RULES.ecrRepository);
  const repository = root.resource("aws_ecr_repository", "api", {
    name,
    image_tag_mutability: "IMMUTABLE",
    image_scanning_configuration: { scan_on_push: true },
    encryption_configuration: [{ encryption_type: "AES256" }],
    force_delete: false,
  });
  root.resource("aws_ecr_lifecycle_policy", "api", { repository: repository.attr("name"), policy: jsonDocument(lifecyclePolicy()) });

  const registry = `123456789012.dkr.ecr.${region}.amazonaws.com`;
  const arn = `arn:aws:ecr:${region}:123456789012:repository/${name}`;
  root.mockResource("aws_ecr_repository", { arn, registry_id: "123456789012", repository_url: `${registry}/${name}` });

  root.output("repository_url", {
    value: repository.attr("repository_url"),
    description: "Address images are pushed to and pulled from (append :<tag>).",
    example: `${registry}/${name}`,
  });
  root.output("repository_arn", { value: repository.attr("arn"), description: "ARN of the API image repository.", example: arn });
  root.output("repository_name", { value: name, description: "Name of the API image repository.", example: name });

  const r = repository.address;
  root.assert(`${r}.image_tag_mutability == "IMMUTABLE"`, "image tags are immutable");
  root.assert(`${r}.image_scanning_configuration[0].scan_on_push == true`, "images are scanned on push");
  root.assert(`${r}.encryption_configuration[0].encryption_type == "AES256"`, "images are encrypted at rest");
  root.assert(`${r}.force_delete == false`, "a repository holding images is never force-deleted");
  root.assert(
    `length(jsondecode(aws_ecr_lifecycle_policy.api.policy).rules) == 2`,
    "the lifecycle policy expires untagged images and keeps a bounded number of tagged ones",
  );
});
