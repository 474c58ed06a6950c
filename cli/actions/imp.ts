/** `impgate imp …`: what runs (the options are in ../commands/imp.ts). */
import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { CreatedImp, DeviceKeyChange, E2eMode, ImpView, RotatedUrl, UpdateImpRequest } from "../../protocol/admin-api.ts";
import type { DeviceConfigInput } from "../../protocol/device-config.ts";
import { fingerprint } from "../../protocol/sealed/statement.ts";
import { AdminClient } from "../admin-client.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";
import { claim } from "../secret-files.ts";

interface CreateFlags extends AdminFlags {
  label?: string;
  out?: string;
  publicKey?: string;
  forward?: string;
  deviceCa?: string[];
  pin?: string[];
  force?: boolean;
}

export async function create(flags: CreateFlags): Promise<void> {
  const client = await AdminClient.from(flags);
  const { profile } = client;

  // The private key is made here (or on the device) and never sent to the edge.
  let publicJwk: JWK;
  let privateJwk: JWK | undefined;
  if (flags.publicKey) {
    publicJwk = await readJwk(flags.publicKey);
    if (publicJwk.d) throw new CliError(`${flags.publicKey} holds a private key; pass the public key (impgate-device keygen prints it)`);
  } else {
    const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    publicJwk = await exportJWK(pair.publicKey);
    privateJwk = await exportJWK(pair.privateKey);
  }
  const profileTrust = flags.deviceCa && flags.pin ? undefined : await profile.deviceTrust();
  const ca = flags.deviceCa ? await Promise.all(flags.deviceCa.map((f) => readPem(f))) : profileTrust?.ca;
  if (!ca?.length)
    throw new CliError(
      `devices need a CA to pin and ${profile.label} names none: pass --device-ca <pem> (the CA that issued the edge's certificate)`,
    );
  const pins = flags.pin ?? profileTrust?.pins ?? [];

  // Claimed before the imp exists, so an imp is never made without its config having somewhere to go.
  const path = flags.out ?? `.impgate/device-${(flags.label ?? "imp").replace(/[^A-Za-z0-9_-]/g, "_")}.json`;
  const file = await claim(path, flags.force, "pass --out for another file (or --force to overwrite it)");
  let created: CreatedImp;
  try {
    created = await client.call<CreatedImp>("POST", "/imps", { label: flags.label, devicePublicJwk: publicJwk });
  } catch (err) {
    await file.release();
    throw err;
  }
  const config: DeviceConfigInput & { deviceKeyFile?: string } = {
    // Where devices connect: the agent URLs' origin, which the edge names (the admin API may have a host of its own).
    edgeUrl: new URL(created.deviceUrl).origin,
    impId: created.impId,
    ...(privateJwk ? { deviceKey: privateJwk } : { deviceKeyFile: privateKeyName(flags.publicKey ?? "") }),
    edgeKeys: created.edgeKeys,
    tls: { ca, pins },
    ...(flags.forward ? { forward: flags.forward } : {}),
  } as DeviceConfigInput & { deviceKeyFile?: string };
  await file.fill(`${JSON.stringify(config, null, 2)}\n`);
  // Computed here from the key this CLI made or read, not taken from the edge: it is what callers pin.
  const deviceFingerprint = await fingerprint(publicJwk);
  output(flags.json).result({ ...created, deviceFingerprint, deviceConfig: path }, [
    `created imp ${created.label} (${created.impId})`,
    `agent URL:      ${created.agentUrl}`,
    `fingerprint:    ${deviceFingerprint} (the device's identity: callers pin it, impgate e2e pin <agent URL> --fingerprint …)`,
    `device config:  ${path}${privateJwk ? " (holds the device's private key: copy it to the device, keep it secret)" : ""}`,
    `run the device: impgate-device --config ${resolve(path)}${flags.forward ? "" : " --forward http://127.0.0.1:8080"}`,
  ]);
}

/** The private key's file beside the config on the device: `device-key.pub.jwk` → `device-key.jwk`. */
function privateKeyName(publicKeyFile: string): string {
  const name = basename(publicKeyFile);
  return /\.pub\.jwk$/.test(name) ? name.replace(/\.pub\.jwk$/, ".jwk") : "device-key.jwk";
}

export async function show(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp show"));
  const client = await AdminClient.from(flags);
  const view = await client.call<ImpView>("GET", `/imps/${imp}`);
  output(flags.json).result(view, describe(view));
}

interface SetFlags extends AdminFlags {
  requestTimeout?: number;
  presenceTimeout?: number;
  queueLimit?: number;
  allowHttp?: boolean;
  public?: boolean;
  publicApis?: boolean;
  label?: string;
  cspSandbox?: boolean;
  e2e?: E2eMode;
}

export async function set(id: string, flags: SetFlags): Promise<void> {
  impId(id, "impgate imp set");
  const patch: UpdateImpRequest = {};
  if (flags.requestTimeout !== undefined) patch.requestTimeoutMs = flags.requestTimeout;
  if (flags.presenceTimeout !== undefined) patch.presenceTimeoutS = flags.presenceTimeout;
  if (flags.queueLimit !== undefined) patch.queueLimit = flags.queueLimit;
  if (flags.allowHttp !== undefined) patch.allowHttp = flags.allowHttp;
  if (flags.public !== undefined) patch.public = flags.public;
  if (flags.publicApis !== undefined) patch.publicApis = flags.publicApis;
  if (flags.label !== undefined) patch.label = flags.label;
  if (flags.cspSandbox !== undefined) patch.cspSandbox = flags.cspSandbox;
  if (flags.e2e !== undefined) patch.e2e = flags.e2e;
  if (Object.keys(patch).length === 0) throw new CliError("nothing to set; see `impgate imp set --help`", 2);
  const client = await AdminClient.from(flags);
  const view = await client.call<ImpView>("PATCH", `/imps/${encodeURIComponent(id)}`, patch);
  if (patch.allowHttp === true)
    process.stderr.write(
      "WARNING: this agent now accepts plain HTTP. Anything sent to it can be read and changed on the way; prefer HTTPS.\n",
    );
  if (patch.public === true)
    process.stderr.write("WARNING: this agent no longer authenticates callers. Anyone with its URL can reach the device.\n");
  if (patch.publicApis === true)
    process.stderr.write("WARNING: anyone with this agent's URL can now post messages and read and write its events and state.\n");
  output(flags.json).result(view, describe(view));
}

export async function rotateUrl(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp rotate-url"));
  const client = await AdminClient.from(flags);
  const rotated = await client.call<RotatedUrl>("POST", `/imps/${imp}/rotate-url`);
  output(flags.json).result(rotated, [
    `new agent URL: ${rotated.agentUrl}`,
    "the old URL, and every token minted for it, stopped working now",
  ]);
}

export async function revokeDevice(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp revoke-device"));
  const client = await AdminClient.from(flags);
  const result = await client.call<DeviceKeyChange>("DELETE", `/imps/${imp}/device-key`);
  output(flags.json).result(result, ["device key revoked: the device is disconnected and cannot connect again"]);
}

export async function replaceDevice(id: string, flags: AdminFlags & { publicKey: string }): Promise<void> {
  impId(id, "impgate imp replace-device");
  const jwk = await readJwk(flags.publicKey);
  if (jwk.d) throw new CliError(`${flags.publicKey} holds a private key; pass the public key`);
  const client = await AdminClient.from(flags);
  const result = await client.call<DeviceKeyChange>("PUT", `/imps/${encodeURIComponent(id)}/device-key`, { devicePublicJwk: jwk });
  output(flags.json).result(result, ["device key replaced: a device holding the old key was disconnected"]);
}

/** Why a device is offline, as `imp show` says it. */
const OFFLINE: Record<NonNullable<ImpView["offlineReason"]>, string> = {
  closed: "its connection closed",
  silent: "went silent",
  replaced: "replaced by a newer connection",
  revoked: "device key revoked",
};

function offline(s: ImpView): string {
  if (s.offlineSince === null || s.offlineReason === null) return "offline";
  const since = `offline since ${new Date(s.offlineSince).toISOString()}`;
  if (s.offlineReason === "silent" && s.silentSince !== null)
    return `${since} (went silent at ${new Date(s.silentSince).toISOString()}: nothing heard for ${Math.round((s.offlineSince - s.silentSince) / 1000)} s)`;
  return `${since} (${OFFLINE[s.offlineReason]})`;
}

function describe(s: ImpView, now = Date.now()): string[] {
  const device =
    (s.online ? `online since ${new Date(s.connectedSince ?? 0).toISOString()} (${s.deviceAgent})` : offline(s)) +
    (s.deviceKey ? "" : " (device key revoked)");
  const seen = s.lastSeen === null ? "never" : `${ago(now - s.lastSeen)}${s.online || !s.deviceAgent ? "" : ` (${s.deviceAgent})`}`;
  const lines = [
    `imp ${s.label} (${s.impId})`,
    `  agent URL:  ${s.agentUrl}`,
    `  created:    ${new Date(s.createdAt).toISOString()}`,
    `  device:     ${device}`,
    `  last seen:  ${seen}`,
    `  callers:    ${s.public ? "anyone (authentication turned off)" : "authenticated"}${s.publicApis ? ", agent APIs open to anyone" : ""}; ${s.allowHttp ? "plain HTTP allowed" : "HTTPS only"}`,
    `  agent:      ${s.agentVersion === null ? "tunnel mode (requests go to the device)" : `code version ${s.agentVersion} (impgate agent show)`}`,
    `  e2e:        ${E2E_LINES[s.e2e]}`,
    `  identity:   ${s.deviceFingerprint ?? "none (device key revoked)"}`,
    `  sealed key: ${s.sealedKey ? `${s.sealedKey.keyId} (statement #${s.sealedKey.sequence}, valid until ${new Date(s.sealedKey.notAfter).toISOString()})` : "none yet (the device sends its statement when it connects with e2e keys)"}`,
  ];
  if (s.rttMs !== null) lines.push(`  round trip: ${s.rttMs} ms (reported ${ago(now - (s.rttAt ?? now))})`);
  const oldest = s.oldestQueuedAt === null ? "" : `, oldest ${ago(now - s.oldestQueuedAt)}`;
  lines.push(`  messages:   ${s.queuedMessages} queued (limit ${s.queueLimit}${oldest})`);
  lines.push(`  requests:   time out after ${s.requestTimeoutMs} ms`);
  lines.push(
    `  presence:   ${s.presenceTimeoutS === 0 ? "checks off (offline only once its connection closes)" : `offline after ${s.presenceTimeoutS} s without a heartbeat`}`,
  );
  if (s.cspSandbox) lines.push("  replies:    Content-Security-Policy: sandbox");
  lines.push(`  tags:       ${s.tags.length ? s.tags.join(" ") : "none"}`);
  if (s.disabled)
    lines.splice(
      1,
      0,
      `  DISABLED:   since ${new Date(s.disabled.at).toISOString()} by ${s.disabled.by}${s.disabled.reason ? `: ${s.disabled.reason}` : ""} (every caller gets 423)`,
    );
  return lines;
}

const E2E_LINES: Record<E2eMode, string> = {
  required: "required: sealed requests, messages and events only",
  optional: "optional: sealed and plaintext traffic",
  off: "off: no sealed traffic (impgate imp set --e2e optional|required)",
};

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

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
