/**
 * Trial mode (`--backend local`): plan without an AWS account. The AWS provider normally checks
 * its credentials against STS and looks up the account id when it is configured; here it gets
 * fake credentials and is told to skip both, and the instance metadata API, through a Terraform
 * override file written next to the root (in the trial directory only, never in `out/`).
 *
 * Override files merge into provider blocks matched by name and alias, and an override for an
 * aliased block that does not exist is an error, so the override mirrors the root's own aws
 * provider blocks, alias for alias. Resources need no AWS call to be planned from empty state,
 * but data sources do: a root reading `data.aws_*` cannot be planned offline and is reported so.
 */

export const OFFLINE_OVERRIDE = "caja_offline_override.tf.json";

const FAKE_ACCESS_KEY = "caja-trial-access-key";
const FAKE_SECRET_KEY = "caja-trial-secret-key";

const OFFLINE_SETTINGS = {
  access_key: FAKE_ACCESS_KEY,
  secret_key: FAKE_SECRET_KEY,
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: true,
} as const;

interface RootDoc {
  readonly provider?: Readonly<Record<string, unknown>>;
  readonly data?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The override document for a root's `main.tf.json`: one block per aws provider block. */
export function offlineOverride(root: RootDoc): { provider: { aws: Record<string, unknown>[] } } {
  const declared = root.provider?.aws;
  const blocks = declared === undefined ? [{}] : Array.isArray(declared) ? declared : [declared];
  const aliases = [...new Set(blocks.map((b) => (b as { alias?: unknown })?.alias).map((a) => (typeof a === "string" ? a : undefined)))];
  return { provider: { aws: aliases.map((alias) => (alias === undefined ? { ...OFFLINE_SETTINGS } : { alias, ...OFFLINE_SETTINGS })) } };
}

/** The AWS data sources a root reads (`data.aws_caller_identity.current`), which need AWS to plan. */
export function awsReads(root: RootDoc): string[] {
  const out: string[] = [];
  for (const [type, byName] of Object.entries(root.data ?? {})) {
    if (!type.startsWith("aws_")) continue;
    for (const name of Object.keys(byName)) out.push(`data.${type}.${name}`);
  }
  return out.sort();
}

/** Terraform's environment in trial mode: fake credentials, no profile, no metadata service. */
export function offlineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {
    AWS_PROFILE: _profile,
    AWS_DEFAULT_PROFILE: _defaultProfile,
    AWS_SESSION_TOKEN: _token,
    AWS_ROLE_ARN: _role,
    AWS_WEB_IDENTITY_TOKEN_FILE: _webIdentity,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: _container,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: _containerFull,
    ...rest
  } = env;
  return { ...rest, AWS_ACCESS_KEY_ID: FAKE_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: FAKE_SECRET_KEY, AWS_EC2_METADATA_DISABLED: "true" };
}
