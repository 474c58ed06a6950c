/**
 * End-to-end sealing, the caller's side: pins (`impgate e2e pin|show`), an owner's key for
 * events (`e2e keygen`), sealed calls (`impgate call --sealed`), sealed messages (`e2e
 * message`) and events opened with an owner key (`impgate events --key owner.jwk`). The
 * sealing itself is caller/sealed.ts, the CLI's sealed agent (pin, credential, transport)
 * ./sealed-agent.ts; the options are in ../commands/e2e.ts.
 */
import { readFile } from "node:fs/promises";
import type { JWK } from "jose";
import { DeviceCard } from "../../protocol/sealed/config.ts";
import { generateOwnerKey } from "../../protocol/sealed/events.ts";
import { parsePin } from "../../protocol/sealed/statement.ts";
import { readJsonFile, splitAgentUrl } from "../caller-auth.ts";
import { CliError } from "../errors.ts";
import { agentUrlArgument } from "../hints.ts";
import { output } from "../output.ts";
import { findPin, type Pin, readPins, writePins } from "../pins.ts";
import { refuseExisting, writeSecret } from "../secret-files.ts";
import { type CallFlags, sealedAgent, sealedStep } from "./sealed-agent.ts";

interface TrustFlags {
  ca?: string;
  profile?: string;
  json?: boolean;
}

export async function pin(url: string, flags: TrustFlags & { fingerprint?: string; card?: string; imp?: string; force?: boolean }) {
  const { agentUrl } = splitAgentUrl(agentUrlArgument(url, "impgate e2e pin"));
  if (Boolean(flags.fingerprint) === Boolean(flags.card)) throw new CliError("pass one of --fingerprint sha256:… or --card <file>", 2);
  let fingerprint = flags.fingerprint ?? "";
  let impId = flags.imp ?? null;
  if (flags.card) {
    const card = DeviceCard.safeParse(await readJsonFile(flags.card, "device card"));
    if (!card.success) throw new CliError(`${flags.card}: not a device card (impgate-device e2e card writes one)`);
    fingerprint = card.data.fingerprint;
    if (impId && impId !== card.data.impId) throw new CliError(`--imp ${impId} but the card is for ${card.data.impId}`, 2);
    impId = card.data.impId;
  }
  try {
    parsePin(fingerprint);
  } catch {
    throw new CliError("a fingerprint is sha256: followed by 43 base64url characters (impgate imp show prints it)", 2);
  }
  const pins = await readPins();
  const existing = findPin(pins, agentUrl, impId ?? undefined);
  if (existing && existing.pin !== fingerprint && !flags.force) {
    throw new CliError(
      `${agentUrl} is pinned to ${existing.pin}, not ${fingerprint}: the device's identity key changed. Check the new fingerprint out of band, then pass --force`,
    );
  }
  const entry: Pin =
    existing && existing.pin === fingerprint
      ? { ...existing, impId: impId ?? existing.impId }
      : { impId, pin: fingerprint, agentUrls: [], pinnedAt: Date.now() };
  if (!entry.agentUrls.includes(agentUrl)) entry.agentUrls.push(agentUrl);
  await writePins([...pins.filter((p) => p !== existing), entry]);
  output(flags.json).result(entry, [
    `pinned ${agentUrl}`,
    `  device fingerprint: ${fingerprint}${entry.impId ? ` (${entry.impId})` : ""}`,
    "sealed calls now refuse any key statement this device did not sign: impgate call --sealed …",
  ]);
}

export async function show(url: string | undefined, flags: CallFlags) {
  const pins = await readPins();
  if (!url) {
    output(flags.json).result(
      { pins },
      pins.length === 0
        ? ["no device pinned yet: impgate e2e pin <agent URL> --fingerprint sha256:…"]
        : pins.flatMap((p) => [`${p.impId ?? "(imp id learned at first call)"}  ${p.pin}`, ...p.agentUrls.map((u) => `  ${u}`)]),
    );
    return;
  }
  const agent = await sealedAgent(url, "impgate e2e show", flags, { needSender: false });
  const key = await agent.trust();
  await agent.save();
  output(flags.json).result({ impId: key.impId, pin: key.pin, keyId: key.keyId, sequence: key.sequence, notAfter: key.notAfter }, [
    `${agent.agentUrl}: the device's key statement verifies against the pin`,
    `  imp:         ${key.impId}`,
    `  fingerprint: ${key.pin}`,
    `  key:         ${key.keyId} (statement #${key.sequence}, valid until ${new Date(key.notAfter).toISOString()})`,
  ]);
}

export async function keygen(flags: { out: string; force?: boolean; json?: boolean }) {
  const pubPath = `${flags.out.replace(/\.jwk$/, "")}.pub.jwk`;
  await refuseExisting([flags.out, pubPath], flags.force, "pass --out for another key, or --force to replace it");
  const { privateJwk, publicJwk } = await generateOwnerKey();
  await writeSecret(flags.out, `${JSON.stringify(privateJwk)}\n`, flags.force);
  await writeSecret(pubPath, `${JSON.stringify(publicJwk)}\n`, true);
  output(flags.json).result({ privateKey: flags.out, publicKey: pubPath }, [
    `owner key:  ${flags.out} (0600: it opens the device's sealed events; keep it)`,
    `public key: ${pubPath}`,
    `on the device: impgate-device e2e add --config device.json --recipient ${pubPath}`,
  ]);
}

/** `impgate call --sealed`: the inner request sealed, the device's reply opened and printed. */
export async function sealedCall(
  url: string,
  flags: CallFlags & { request?: string; header?: string[]; data?: string; include?: boolean },
  body: Uint8Array,
  headers: [string, string][],
) {
  const { rest } = splitAgentUrl(agentUrlArgument(url, "impgate call --sealed"));
  const target = new URL(rest || "/", "https://inner.invalid");
  const agent = await sealedAgent(url, "impgate call --sealed", flags, { needSender: true });
  const method = flags.request ?? (flags.data === undefined ? "GET" : "POST");
  if (flags.data !== undefined && !headers.some(([n]) => n === "content-type")) headers.push(["content-type", "application/octet-stream"]);
  const reply = await sealedStep(agent, () =>
    agent.request({
      method,
      path: target.pathname,
      query: target.search,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : body,
    }),
  );
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ status: reply.status, headers: reply.headers, body: new TextDecoder().decode(reply.body) }, null, 2)}\n`,
    );
  } else {
    if (flags.include) {
      process.stdout.write(`HTTP ${reply.status} (sealed)\n${reply.headers.map(([n, v]) => `${n}: ${v}\n`).join("")}\n`);
    }
    process.stdout.write(reply.body);
  }
  if (reply.status >= 400) throw new CliError(`the device answered ${reply.status}`);
}

export async function message(url: string, name: string, flags: CallFlags & { data?: string; type?: string; ttl?: number }) {
  const agent = await sealedAgent(url, "impgate e2e message", flags, { needSender: true });
  const data = flags.data === undefined ? new Uint8Array(0) : await dataArg(flags.data);
  const sent = await sealedStep(agent, () =>
    agent.message({ name, data, ...(flags.type ? { contentType: flags.type } : {}) }, { ttlS: flags.ttl }),
  );
  output(flags.json).result(sent, [`sealed message queued: ${sent.id} (${sent.status}); only the device can read it`]);
}

export async function events(url: string, flags: CallFlags & { after?: number; limit?: number; wait?: number }) {
  const keys = await Promise.all([flags.key ?? []].flat().map((k) => readJsonFile(k, "key") as Promise<JWK>));
  const owner = keys.find((k) => k.crv === "X25519");
  if (!owner?.d) throw new CliError("pass the owner key that opens the sealed events: --key owner.jwk (from impgate e2e keygen)", 2);
  const agent = await sealedAgent(
    url,
    "impgate events",
    { ...flags, key: [flags.key ?? []].flat().filter((_, i) => keys[i]?.crv !== "X25519") },
    {
      needSender: false,
    },
  );
  const page = await sealedStep(agent, () => agent.events(owner, { after: flags.after, limit: flags.limit, waitS: flags.wait }));
  const lines = page.events.map((e) => {
    const when = new Date(e.at).toISOString();
    if (e.refused) return `#${e.seq} ${when} sealed event refused: ${e.refused}`;
    return `#${e.seq} ${when} ${e.name}${e.sealed ? " (sealed)" : " (in the clear)"}: ${new TextDecoder().decode(e.data)}`;
  });
  const json = { cursor: page.cursor, events: page.events.map((e) => ({ ...e, data: new TextDecoder().decode(e.data) })) };
  output(flags.json).result(json, [...lines, `cursor: ${page.cursor} (--after ${page.cursor} reads on from here)`]);
}

async function dataArg(data: string): Promise<Uint8Array> {
  if (!data.startsWith("@")) return new TextEncoder().encode(data);
  try {
    return await readFile(data.slice(1));
  } catch {
    throw new CliError(`cannot read ${data.slice(1)}`);
  }
}
