/** `impgate imp …`: create and inspect imps. */
import { readFile, writeFile } from "node:fs/promises";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { DeviceConfigInput } from "../../device/config.ts";
import type { ImpStatus } from "../../durable-objects/imp-status.ts";
import { AdminClient } from "../admin-client.ts";
import { parseArgs } from "../args.ts";
import { CliError, usage } from "../errors.ts";
import { type Output, PROFILE_OPTIONS } from "../output.ts";
import { loadProfile } from "../profile.ts";

interface Created {
  impId: string;
  label: string;
  agentId: string;
  agentUrl: string;
  deviceUrl: string;
  edgeKeys: JWK[];
}

export const IMP_USAGE = `impgate imp create [--label NAME] [--out device.json] [--public-key pub.jwk] [--forward URL]
                  [--device-ca ca.pem]... [--pin sha256/...]... [--force]
impgate imp show <imp>
impgate imp set <imp> [--request-timeout MS] [--queue-limit N] [--allow-http | --no-allow-http] [--public | --no-public]
                 [--public-apis | --no-public-apis]
impgate imp rotate-url <imp>
impgate imp revoke-device <imp>
impgate imp replace-device <imp> --public-key device.pub.jwk`;

export async function impCommand(argv: string[], out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return create(rest, out);
    case "show":
      return show(rest, out);
    case "set":
      return set(rest, out);
    case "rotate-url":
      return rotateUrl(rest, out);
    case "revoke-device":
      return deviceKey(rest, out, "revoke");
    case "replace-device":
      return deviceKey(rest, out, "replace");
    default:
      throw usage(sub ? `unknown command "imp ${sub}"\n${IMP_USAGE}` : IMP_USAGE);
  }
}

async function create(argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...PROFILE_OPTIONS,
      label: { type: "string" },
      out: { type: "string" },
      "public-key": { type: "string" },
      forward: { type: "string" },
      "device-ca": { type: "string", multiple: true },
      pin: { type: "string", multiple: true },
      force: { type: "boolean" },
    },
  });
  const profile = await loadProfile(values);
  const client = new AdminClient(profile);

  // The private key is made here (or on the device) and never sent to the edge.
  let publicJwk: JWK;
  let privateJwk: JWK | undefined;
  if (values["public-key"]) {
    publicJwk = await readJwk(values["public-key"]);
    if (publicJwk.d)
      throw new CliError(`${values["public-key"]} holds a private key; pass the public key (impgate-device keygen prints it)`);
  } else {
    const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    publicJwk = await exportJWK(pair.publicKey);
    privateJwk = await exportJWK(pair.privateKey);
  }

  const ca = values["device-ca"] ? await Promise.all(values["device-ca"].map((f) => readFile(f, "utf8"))) : profile.deviceTrust?.ca;
  if (!ca?.length) throw new CliError("devices need a CA to pin: pass --device-ca <pem> (the CA that issued the edge's certificate)");
  const pins = values.pin ?? profile.deviceTrust?.pins ?? [];

  const created = await client.call<Created>("POST", "/imps", { label: values.label, devicePublicJwk: publicJwk });
  const config: DeviceConfigInput & { deviceKeyFile?: string } = {
    edgeUrl: profile.edgeUrl,
    impId: created.impId,
    ...(privateJwk ? { deviceKey: privateJwk } : { deviceKeyFile: "device-key.jwk" }),
    edgeKeys: created.edgeKeys,
    tls: { ca, pins },
    ...(values.forward ? { forward: values.forward } : {}),
  } as DeviceConfigInput & { deviceKeyFile?: string };
  const path = values.out ?? `device-${created.label.replace(/[^A-Za-z0-9_-]/g, "_")}.json`;
  try {
    await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: values.force ? "w" : "wx" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === "EEXIST" ? `${path} exists (pass --force to overwrite)` : `cannot write ${path}: ${code}`);
  }
  out.result({ ...created, deviceConfig: path }, [
    `created imp ${created.label} (${created.impId})`,
    `agent URL:     ${created.agentUrl}`,
    `device config: ${path}${privateJwk ? " (holds the device's private key: copy it to the device, keep it secret)" : ""}`,
    `run the device: impgate-device --config ${path}${values.forward ? "" : " --forward http://127.0.0.1:8080"}`,
  ]);
}

async function show(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: PROFILE_OPTIONS });
  const [imp] = positionals;
  if (!imp) throw usage("usage: impgate imp show <imp>");
  const client = new AdminClient(await loadProfile(values));
  const status = await client.call<ImpStatus>("GET", `/imps/${encodeURIComponent(imp)}`);
  out.result(status, describe(status));
}

async function set(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      ...PROFILE_OPTIONS,
      "request-timeout": { type: "string" },
      "queue-limit": { type: "string" },
      "allow-http": { type: "boolean" },
      public: { type: "boolean" },
      "public-apis": { type: "boolean" },
    },
  });
  const [imp] = positionals;
  if (!imp)
    throw usage(
      "usage: impgate imp set <imp> [--request-timeout MS] [--queue-limit N] [--allow-http|--no-allow-http] [--public|--no-public] [--public-apis|--no-public-apis]",
    );
  const patch: Record<string, unknown> = {};
  if (values["request-timeout"] !== undefined) {
    const ms = Number(values["request-timeout"]);
    if (!Number.isInteger(ms) || ms <= 0) throw usage("--request-timeout takes a whole number of milliseconds");
    patch.requestTimeoutMs = ms;
  }
  if (values["queue-limit"] !== undefined) {
    const n = Number(values["queue-limit"]);
    if (!Number.isInteger(n) || n <= 0) throw usage("--queue-limit takes a whole number of messages");
    patch.queueLimit = n;
  }
  if (values["allow-http"] !== undefined) patch.allowHttp = values["allow-http"];
  if (values.public !== undefined) patch.public = values.public;
  if (values["public-apis"] !== undefined) patch.publicApis = values["public-apis"];
  if (Object.keys(patch).length === 0) throw usage("nothing to set");
  const client = new AdminClient(await loadProfile(values));
  const status = await client.call<ImpStatus>("PATCH", `/imps/${encodeURIComponent(imp)}`, patch);
  const warnings: string[] = [];
  if (patch.allowHttp === true)
    warnings.push("WARNING: this agent now accepts plain HTTP. Anything sent to it can be read and changed on the way; prefer HTTPS.");
  if (patch.public === true)
    warnings.push("WARNING: this agent no longer authenticates callers. Anyone with its URL can reach the device.");
  if (patch.publicApis === true)
    warnings.push("WARNING: anyone with this agent's URL can now post messages to the device and read and change its events and state.");
  for (const w of warnings) process.stderr.write(`${w}\n`);
  out.result(status, describe(status));
}

async function rotateUrl(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: PROFILE_OPTIONS });
  const [imp] = positionals;
  if (!imp) throw usage("usage: impgate imp rotate-url <imp>");
  const client = new AdminClient(await loadProfile(values));
  const rotated = await client.call<{ agentUrl: string }>("POST", `/imps/${encodeURIComponent(imp)}/rotate-url`);
  out.result(rotated, [`new agent URL: ${rotated.agentUrl}`, "the old URL, and every token minted for it, stopped working now"]);
}

async function deviceKey(argv: string[], out: Output, action: "revoke" | "replace"): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...PROFILE_OPTIONS, "public-key": { type: "string" } },
  });
  const [imp] = positionals;
  if (!imp) throw usage(`usage: impgate imp ${action}-device <imp>${action === "replace" ? " --public-key device.pub.jwk" : ""}`);
  const client = new AdminClient(await loadProfile(values));
  if (action === "revoke") {
    await client.call("DELETE", `/imps/${encodeURIComponent(imp)}/device-key`);
    out.result({ impId: imp, deviceKey: "revoked" }, ["device key revoked: the device is disconnected and cannot connect again"]);
    return;
  }
  if (!values["public-key"]) throw usage("replace-device needs --public-key (impgate-device keygen prints it on the device)");
  const jwk = await readJwk(values["public-key"]);
  if (jwk.d) throw new CliError(`${values["public-key"]} holds a private key; pass the public key`);
  await client.call("PUT", `/imps/${encodeURIComponent(imp)}/device-key`, { devicePublicJwk: jwk });
  out.result({ impId: imp, deviceKey: "replaced" }, ["device key replaced: a device holding the old key was disconnected"]);
}

function describe(s: ImpStatus, now = Date.now()): string[] {
  const device =
    (s.online ? `online since ${new Date(s.connectedSince ?? 0).toISOString()} (${s.deviceAgent})` : "offline") +
    (s.deviceKey ? "" : " (device key revoked)");
  const seen = s.lastSeen === null ? "never" : `${ago(now - s.lastSeen)}${s.online || !s.deviceAgent ? "" : ` (${s.deviceAgent})`}`;
  const lines = [
    `imp ${s.label} (${s.impId})`,
    `  created:    ${new Date(s.createdAt).toISOString()}`,
    `  device:     ${device}`,
    `  last seen:  ${seen}`,
    `  callers:    ${s.public ? "anyone (authentication turned off)" : "authenticated"}; ${s.allowHttp ? "plain HTTP allowed" : "HTTPS only"}`,
    `  agent:      ${s.agentVersion === null ? "tunnel mode (requests go to the device)" : `code version ${s.agentVersion} (impgate agent show)`}`,
  ];
  if (s.rttMs !== null) lines.push(`  round trip: ${s.rttMs} ms (reported ${ago(now - (s.rttAt ?? now))})`);
  const oldest = s.oldestQueuedAt === null ? "" : `, oldest ${ago(now - s.oldestQueuedAt)}`;
  lines.push(`  messages:   ${s.queuedMessages} queued (limit ${s.queueLimit}${oldest})`);
  lines.push(`  requests:   time out after ${s.requestTimeoutMs} ms`);
  return lines;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

async function readJwk(path: string): Promise<JWK> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as JWK;
  } catch {
    throw new CliError(`cannot read a JWK from ${path}`);
  }
}
