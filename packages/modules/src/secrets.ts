/**
 * Phase 3 — secrets (plan sections 4 and 9): the application's discrete secrets, one Secrets Manager
 * secret each, so the task role can be granted exactly the ones it needs.
 *
 * Terraform creates the secret *containers* only. Their values are never written by Terraform (no
 * `aws_secretsmanager_secret_version`), so no secret value reaches the configuration, the plan or
 * the state. Set each value once after phase 3 is applied, e.g. for dev:
 *
 * ```sh
 * aws secretsmanager put-secret-value --region us-east-1 --secret-id caja/dev/jwt-signing-key --secret-string "$(openssl rand -base64 64 | tr -d '\n')"
 * aws secretsmanager put-secret-value --region us-east-1 --secret-id caja/dev/session-salt --secret-string "$(openssl rand -hex 32)"
 * ```
 *
 * (Rotating a value is the same command; the ECS service picks it up on its next deployment.)
 *
 * Inputs: `project`, the environment's name and tier.
 *
 * Outputs:
 * - `jwt_secret_arn`: e.g. `arn:aws:secretsmanager:us-east-1:123456789012:secret:caja/dev/jwt-signing-key-AbCdEf`.
 * - `session_salt_secret_arn`: e.g. `arn:aws:secretsmanager:us-east-1:123456789012:secret:caja/dev/session-salt-GhIjKl`.
 *
 * Encryption uses the AWS-managed `aws/secretsmanager` key (plan section 4: "Secrets Manager KMS
 * (AWS-managed)"), which is what an unset `kms_key_id` means; checkov's CKV_AWS_149 (CMK) is a
 * warning by design. A deleted secret stays recoverable for 7 days (30 in the prod tier).
 */
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { SECRETS } from "./contracts.js";

/** The secrets and what each is for; the ARN suffix is what Secrets Manager appends (6 random characters). */
const APP_SECRETS = [
  { label: "jwt", component: "jwt-signing-key", output: "jwt_secret_arn", suffix: "AbCdEf", purpose: "Key the API signs and verifies JWTs with" },
  { label: "session_salt", component: "session-salt", output: "session_salt_secret_arn", suffix: "GhIjKl", purpose: "Salt of the API's session identifiers" },
] as const;

export const secrets = defineModule(SECRETS, (ctx) => {
  const { root, config, env, region } = ctx;
  const recoveryWindow = env.tier === "prod" ? 30 : 7;

  for (const s of APP_SECRETS) {
    // Path-style names group an environment's secrets, so IAM can scope them with
    // `secret:<project>/<env>/*`.
    const name = ctx.claimName(`${config.project}/${env.name}/${s.component}`, NAME_RULES.secret);
    const secret = root.resource("aws_secretsmanager_secret", s.label, {
      name,
      description: `${s.purpose} (${env.name}). The value is set outside Terraform with aws secretsmanager put-secret-value.`,
      recovery_window_in_days: recoveryWindow,
    });
    const arn = `arn:aws:secretsmanager:${region}:123456789012:secret:${name}-${s.suffix}`;
    root.overrideInTest(secret, { arn, id: arn });
    root.output(s.output, { value: secret.attr("arn"), description: `ARN of the ${name} secret. ${s.purpose}.`, example: arn });

    root.assert(`${secret.address}.name == "${name}"`, `the ${s.component} secret is named ${name}`);
    root.assert(`${secret.address}.recovery_window_in_days == ${recoveryWindow}`, `a deleted ${s.component} secret is recoverable for ${recoveryWindow} days`);
    root.assert(`${secret.address}.kms_key_id == null`, `the ${s.component} secret uses the AWS-managed Secrets Manager key`);
  }
});
