/**
 * `impgate edge init`: ADMIN_SECRET, AGENT_ID_KEY and EDGE_SIGNING_JWK for a deployed edge.
 * They are kept in a 0600 file and reused when it exists: a new AGENT_ID_KEY would
 * invalidate every imp id and agent URL, a new edge key every device's pin.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type EdgeSecrets, makeEdgeSecrets } from "../edge-secrets.ts";
import { CliError } from "../errors.ts";
import { output } from "../output.ts";
import { PROJECT_ROOT } from "../root.ts";
import { exists, writeSecret } from "../secret-files.ts";

const NAMES = ["ADMIN_SECRET", "AGENT_ID_KEY", "EDGE_SIGNING_JWK"] as const;

interface InitFlags {
  out: string;
  put?: boolean;
  wranglerConfig?: string;
  env?: string;
  json?: boolean;
}

async function readSecrets(path: string): Promise<EdgeSecrets> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "not JSON"}`);
  }
  for (const name of NAMES) if (typeof json[name] !== "string") throw new CliError(`${path} has no ${name}: not an edge secrets file`);
  return json as unknown as EdgeSecrets;
}

/** The project's own wrangler on the project's Node 22 (or IMPGATE_WRANGLER, a command line). */
function wranglerCommand(): string[] {
  const custom = process.env.IMPGATE_WRANGLER;
  if (custom) return custom.split(" ").filter(Boolean);
  const node = join(PROJECT_ROOT, "node_modules", "node", "bin", "node");
  return [existsSync(node) ? node : process.execPath, join(PROJECT_ROOT, "node_modules", "wrangler", "bin", "wrangler.js")];
}

function put(name: string, value: string, args: string[]): Promise<void> {
  const [command = "wrangler", ...rest] = wranglerCommand();
  return new Promise((done, fail) => {
    // The value goes in on stdin: never on a command line, where other users and logs can see it.
    const child = spawn(command, [...rest, "secret", "put", name, ...args], { stdio: ["pipe", "inherit", "inherit"] });
    child.on("error", (err) => fail(new CliError(`cannot run wrangler: ${err.message}`)));
    child.on("exit", (code) => (code === 0 ? done() : fail(new CliError(`wrangler secret put ${name} failed (exit ${code})`))));
    child.stdin.end(value);
  });
}

export async function init(flags: InitFlags): Promise<void> {
  const path = resolve(flags.out);
  const kept = await exists(path);
  const secrets = kept ? await readSecrets(path) : await makeEdgeSecrets();
  if (!kept) await writeSecret(path, `${JSON.stringify(secrets, null, 2)}\n`);
  const config = resolve(flags.wranglerConfig ?? join(PROJECT_ROOT, "wrangler.toml"));
  const args = ["--config", config, ...(flags.env ? ["--env", flags.env] : [])];
  const lines = [
    kept
      ? `using the edge secrets in ${path} (made earlier; kept, so imp ids and device pins stay valid)`
      : `made the edge's secrets: ${path} (0600; keep it, and keep it private)`,
  ];
  if (flags.put) {
    for (const name of NAMES) await put(name, secrets[name], args);
    lines.push(`put ${NAMES.join(", ")} into the Worker; next: npx wrangler deploy --config ${config}`);
  } else {
    lines.push("put them into the Worker (or run this again with --put):");
    for (const name of NAMES)
      lines.push(
        `  node -e 'process.stdout.write(require(process.argv[1]).${name})' ${path} | npx wrangler secret put ${name} ${args.join(" ")}`,
      );
  }
  lines.push(
    `then log in: impgate login --profile prod --edge https://<your worker> --admin-secret "$(node -p 'require(process.argv[1]).ADMIN_SECRET' ${path})" --device-ca <root>…`,
  );
  output(flags.json).result({ file: path, kept, put: Boolean(flags.put), names: NAMES }, lines);
}
