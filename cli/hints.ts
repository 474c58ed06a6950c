/** One line that says what to do, for the mistakes people make most with this CLI. */
import { CliError } from "./errors.ts";
import type { Trust } from "./profile.ts";

/** Certificate errors that mean "issued by a CA you do not trust", which --ca fixes. */
const UNTRUSTED_ISSUER = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);
const OTHER_CERT_FAILURES = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_SIGNATURE_FAILURE"]);

export function tlsHint(origin: string, code: string | undefined, trust: Trust): string | undefined {
  if (code && UNTRUSTED_ISSUER.has(code)) {
    return trust.ca
      ? `cannot verify ${origin} (${code}): its certificate is not from ${trust.source}; pass --ca with the CA that issued it, or run \`impgate login\` again with the right --ca`
      : `cannot verify ${origin} (${code}): its certificate is not from a CA this machine trusts; pass --ca with the CA that issued it, or log in with it: impgate login --edge URL --admin-secret S --ca ca.pem`;
  }
  if (code && OTHER_CERT_FAILURES.has(code)) return `cannot verify ${origin}: ${code} (checked against ${trust.source})`;
  return undefined;
}

/** Today's agent ids are 64 base64url characters; new ones begin with agt_. */
const AGENT_ID = /^(agt_[A-Za-z0-9_-]+|[A-Za-z0-9_-]{64})$/;
/** Today's imp ids are 43 base64url characters; new ones begin with imp_. */
const IMP_ID = /^(imp_[A-Za-z0-9_-]+|[A-Za-z0-9_-]{43})$/;

function isAgentRef(value: string): boolean {
  return /\/agent\//.test(value) || AGENT_ID.test(value);
}

/** Refuses an agent URL or agent id where an imp id belongs (they are easy to mix up). */
export function impId(value: string, command: string): string {
  if (isAgentRef(value)) {
    const what = value.includes("/agent/") ? "an agent URL" : "an agent id";
    throw new CliError(
      `${value.length > 40 ? `${value.slice(0, 37)}…` : value} is ${what}, not an imp id: \`${command}\` takes the imp id (imp_…) that \`impgate imp create\` printed`,
      2,
    );
  }
  return value;
}

/** Refuses an imp id where an agent URL belongs. */
export function agentUrlArgument(value: string, command: string): string {
  if (IMP_ID.test(value)) {
    throw new CliError(
      `${value} is an imp id: \`${command}\` takes the agent URL (https://…/agent/…); \`impgate imp show ${value}\` prints it`,
      2,
    );
  }
  return value;
}

/** Options of the device daemon that people pass to the admin CLI by habit. */
export function optionHint(option: string): string | undefined {
  if (option === "--config" || option.startsWith("--config="))
    return "--config is the device daemon's (impgate-device --config device.json); the admin CLI finds the edge through a profile: --profile NAME (see impgate login --help)";
  return undefined;
}
