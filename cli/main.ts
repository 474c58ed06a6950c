/**
 * `impgate`: the admin CLI over the admin API.
 *   impgate imp …, cred …, audit …, agent …   (admin, over the admin API)
 *   impgate caller keygen, token, code, call   (a caller of an agent URL)
 */

import { AGENT_USAGE, agentCommand } from "./commands/agent.ts";
import { AUDIT_USAGE, auditCommand } from "./commands/audit.ts";
import { CALLER_USAGE, callCommand, callerKeygen, codeCommand, tokenCommand } from "./commands/caller.ts";
import { CRED_USAGE, credCommand } from "./commands/cred.ts";
import { IMP_USAGE, impCommand } from "./commands/imp.ts";
import { CliError, usage } from "./errors.ts";
import { output } from "./output.ts";

const USAGE = `usage:
${IMP_USAGE}
${CRED_USAGE}
${AUDIT_USAGE}
${AGENT_USAGE}
${CALLER_USAGE}

Every command takes --profile FILE (default .impgate/admin.json), or --edge URL --admin-secret S [--ca ca.pem]
(or IMPGATE_EDGE, IMPGATE_ADMIN_SECRET, IMPGATE_CA), and --json for machine-readable output.`;

const COMMANDS: Record<string, (argv: string[], out: ReturnType<typeof output>) => Promise<void>> = {
  imp: impCommand,
  cred: credCommand,
  audit: auditCommand,
  agent: agentCommand,
  caller: (argv, out) => {
    if (argv[0] !== "keygen") throw usage("usage: impgate caller keygen [--out caller.jwk] [--alg EdDSA|ES256]");
    return callerKeygen(argv.slice(1), out);
  },
  token: tokenCommand,
  code: codeCommand,
  call: callCommand,
};

export async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const handler = COMMANDS[command];
  if (!handler) throw usage(`unknown command "${command}"\n${USAGE}`);
  await handler(rest, output(rest.includes("--json")));
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`impgate: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`impgate: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`impgate: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
