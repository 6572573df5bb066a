/**
 * One AWS provider process shared by every terraform command of a mock test run. Terraform starts
 * the provider afresh for each step of each command (validate, plan, apply, the teardown's
 * destroy: about a dozen times per root), and each start loads the provider's whole schema,
 * which is most of what a mock test costs. Started in its debug mode, the provider stays up and
 * prints a `TF_REATTACH_PROVIDERS` value; terraform given that value talks to the running process
 * instead of starting its own.
 *
 * Only for mock tests: nothing configures this provider (a mock provider stands in for it), and
 * it is started without AWS credentials, so even a run that lost its mock could reach no
 * account. Its socket is made in the caller's temporary folder, and it is stopped when the run
 * ends. When it cannot start, the caller runs terraform as before, only slower.
 */
import { spawn } from "node:child_process";
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, isAbsolute } from "node:path";

export interface ProviderServer {
  /** The value of `TF_REATTACH_PROVIDERS` that points terraform at this process. */
  readonly reattach: string;
  stop(): Promise<void>;
}

const AWS = "registry.terraform.io/hashicorp/aws";

/** Credentials and profiles the server must not see (it is never configured; this makes sure). */
const CREDENTIALS = /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|CONTAINER_CREDENTIALS_FULL_URI|CONTAINER_CREDENTIALS_RELATIVE_URI|CONTAINER_AUTHORIZATION_TOKEN)$/;

/** The AWS provider binary terraform installed into `initialised/.terraform`, if any. */
export function installedAwsProvider(initialised: string): string | undefined {
  const base = join(initialised, ".terraform", "providers", ...AWS.split("/"));
  const list = (dir: string) => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  for (const version of list(base).reverse()) {
    for (const platform of list(join(base, version))) {
      const dir = join(base, version, platform);
      const name = list(dir).find((f) => /^terraform-provider-aws(_|\.exe$|$)/.test(f));
      if (!name) continue;
      try {
        const file = realpathSync(join(dir, name));
        if (statSync(file).isFile()) return file;
      } catch {
        // A dangling link is no provider.
      }
    }
  }
  return undefined;
}

const running = new Set<() => void>();

/** Stop every provider server this process started and has not stopped (for a command ending on a signal). */
export function killProviderServers(): void {
  for (const kill of running) kill();
  running.clear();
}

/**
 * The provider's keeper: a Node process that starts the provider as its own child, passes its
 * output through, and stops it (an interrupt, then a kill after 3 s) when its stdin ends. caja
 * holds the other end of that pipe, so the provider is stopped however caja ends: the operating
 * system closes the pipe of a process that was killed outright (SIGKILL, the OOM killer, a CI
 * job's timeout), which no exit handler of caja's own would outlive.
 */
const KEEPER = `
const { spawn } = require("node:child_process");
const provider = spawn(process.argv[1], ["-debug"], { stdio: ["ignore", "inherit", "inherit"] });
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  provider.kill("SIGINT");
  setTimeout(() => provider.kill("SIGKILL"), 3000).unref();
}
provider.on("error", () => process.exit(1));
provider.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
`;

/**
 * Start `binary` in debug mode with its socket in `socketDir`, under its keeper (see KEEPER);
 * undefined when it does not say where it listens within `timeoutMs` (then it is stopped again).
 */
export function startProviderServer(binary: string, socketDir: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ProviderServer | undefined> {
  // Without credentials, and without NODE_OPTIONS (whatever it would load into the keeper).
  const quiet = Object.fromEntries(Object.entries(env).filter(([k]) => !CREDENTIALS.test(k) && k !== "NODE_OPTIONS"));
  const child = spawn(process.execPath, ["-e", KEEPER, binary], {
    env: { ...quiet, TMPDIR: socketDir, TMP: socketDir, TEMP: socketDir, AWS_EC2_METADATA_DISABLED: "true", TF_LOG: "", TF_LOG_PROVIDER: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  // The keeper stops the provider when this pipe ends, which it does when caja ends, however it
  // ends; a command ending on a signal ends it first (killProviderServers).
  child.stdin.on("error", () => {});
  const release = () => child.stdin.destroy();
  running.add(release);
  const stop = async () => {
    running.delete(release);
    if (child.exitCode === null && child.signalCode === null) {
      // The keeper interrupts the provider, which closes its socket, and kills one that ignores it.
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const settle = (server: ProviderServer | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!server) void stop();
      resolve(server);
    };
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    child.on("error", () => settle(undefined));
    child.once("close", () => settle(undefined));
    // Read until it says where it listens; after that its output is only drained.
    child.stderr.resume();
    child.stdout.on("data", (b: Buffer) => {
      if (settled) return;
      text = (text + b.toString()).slice(-64 * 1024);
      const value = reattachValue(text, socketDir);
      if (value) settle({ reattach: value, stop });
    });
  });
}

/**
 * The `TF_REATTACH_PROVIDERS` value the provider printed, when it names the AWS provider on a
 * socket inside `socketDir`; written back as JSON caja made, not as the text it read.
 */
export function reattachValue(printed: string, socketDir: string): string | undefined {
  const m = /TF_REATTACH_PROVIDERS='(\{[^'\n]*\})'/.exec(printed);
  if (!m) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(m[1]!);
  } catch {
    return undefined;
  }
  const entry = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)[AWS] : undefined;
  if (typeof entry !== "object" || entry === null) return undefined;
  const { Protocol, ProtocolVersion, Pid, Test, Addr } = entry as Record<string, unknown>;
  const addr = typeof Addr === "object" && Addr !== null ? (Addr as Record<string, unknown>) : {};
  if (Protocol !== "grpc" || typeof ProtocolVersion !== "number" || typeof Pid !== "number" || addr.Network !== "unix" || typeof addr.String !== "string") return undefined;
  const inside = relative(socketDir, addr.String);
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) return undefined;
  return JSON.stringify({ [AWS]: { Protocol, ProtocolVersion, Pid, Test: Test === true, Addr: { Network: "unix", String: addr.String } } });
}
