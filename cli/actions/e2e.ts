/**
 * End-to-end sealing, the caller's side: pins (`impgate e2e pin|show`), an owner's key for
 * events (`e2e keygen`), sealed calls (`impgate call --sealed`), sealed messages (`e2e
 * message`) and events opened with an owner key (`impgate events --key owner.jwk`). The
 * sealing itself is caller/sealed.ts; the options are in ../commands/e2e.ts.
 */
import { readFile } from "node:fs/promises";
import { decodeJwt, type JWK } from "jose";
import { type OuterRequest, SealedAgent, SealedCallError, type Transport } from "../../caller/sealed.ts";
import { DeviceCard } from "../../protocol/sealed/config.ts";
import { isSealedError } from "../../protocol/sealed/errors.ts";
import { generateOwnerKey } from "../../protocol/sealed/events.ts";
import { type SenderKey, senderKey } from "../../protocol/sealed/sender.ts";
import { parsePin } from "../../protocol/sealed/statement.ts";
import {
  type AccessToken,
  authHeaders,
  type CallerCredential,
  obtainToken,
  readJsonFile,
  splitAgentUrl,
  type TokenOptions,
  tokenHeaders,
} from "../caller-auth.ts";
import { type CredentialFlags, credentialFrom, scopeOption } from "../credential-flags.ts";
import { CliError } from "../errors.ts";
import { agentUrlArgument } from "../hints.ts";
import { httpRequest } from "../http.ts";
import { output } from "../output.ts";
import { findPin, type Pin, readPins, rememberPin, writePins } from "../pins.ts";
import { loadCallerTrust, type Trust } from "../profile.ts";
import { refuseExisting, writeSecret } from "../secret-files.ts";

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

interface CallFlags extends Omit<CredentialFlags, "key"> {
  /** `events` takes it repeated: an owner key and a caller key. */
  key?: string[] | string;
  senderKey?: string;
  signedHeader?: string[];
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

/** A SealedAgent for the agent URL's pin, authenticated with the given credential, over the CLI's TLS trust. */
async function sealedAgent(url: string, command: string, flags: CallFlags, options: { needSender: boolean }) {
  const { agentUrl } = splitAgentUrl(agentUrlArgument(url, command));
  const pins = await readPins();
  const pinned = findPin(pins, agentUrl);
  if (!pinned) {
    throw new CliError(
      `no pin for ${agentUrl}: pin the device first, with the fingerprint its admin handed you: impgate e2e pin ${agentUrl} --fingerprint sha256:…`,
    );
  }
  const trust = await loadCallerTrust(flags);
  const keys = [flags.key ?? []].flat();
  if (keys.length > 1) throw new CliError("pass one of --key, --cred-file, --token, --sign-key", 2);
  const cred = await credentialFrom({ ...flags, key: keys[0] });
  let sender: SenderKey | undefined;
  const senderJwk = flags.senderKey
    ? ((await readJsonFile(flags.senderKey, "sender key")) as JWK)
    : cred.kind === "jwt" || cred.kind === "http-signature"
      ? cred.jwk
      : undefined;
  if (senderJwk) sender = await senderKey(senderJwk).catch(() => undefined);
  if (options.needSender && !sender) {
    throw new CliError(
      "a sealed call is signed by the caller's key, which the device lists in e2e.senders: pass --key caller.jwk (or --sign-key, --sender-key)",
      2,
    );
  }
  const transport = cliTransport(trust);
  const headers = outerHeaders(agentUrl, cred, trust, {
    scope: scopeOption(flags.scope),
    dpop: flags.dpop,
    signedHeaders: flags.signedHeader,
  });
  // A pin made with a fingerprint alone learns its imp id from the first statement the pinned key signed.
  const impId = pinned.impId ?? (await statementImp(agentUrl, transport, headers));
  const agent = new SealedAgent({
    agentUrl,
    pin: { impId, pin: pinned.pin, ...(pinned.lastSequence === undefined ? {} : { lastSequence: pinned.lastSequence }) },
    ...(sender ? { sender } : {}),
    headers,
    transport,
  });
  return Object.assign(agent, {
    save: () => rememberPin(agentUrl, { impId, lastSequence: agent.state().lastSequence }),
  });
}

/** Runs one sealed step; the pin's state is saved after it, and its refusal is one readable line. */
async function sealedStep<T>(agent: SealedAgent & { save(): Promise<void> }, step: () => Promise<T>): Promise<T> {
  try {
    const result = await step();
    await agent.save();
    return result;
  } catch (err) {
    if (isSealedError(err, "ERR_KEY_STATEMENT_IDENTITY_CHANGED")) {
      throw new CliError(
        `REFUSED, nothing sent: the key statement the edge served for ${agent.agentUrl} was not signed by the pinned device. The edge may be substituting keys, or the device was re-provisioned: check its fingerprint out of band before \`impgate e2e pin --force\``,
      );
    }
    if (isSealedError(err)) throw new CliError(`refused: ${err.code}: ${err.message}`);
    if (err instanceof SealedCallError) throw new CliError(err.message);
    throw err;
  }
}

function cliTransport(trust: Trust): Transport {
  return async ({ method, url, headers, body }) => {
    const res = await httpRequest(url, { method, headers, ...(body ? { body } : {}), trust });
    const type = res.headers["content-type"];
    return { status: res.status, contentType: typeof type === "string" ? type : null, body: new Uint8Array(res.body) };
  };
}

/**
 * The headers that authenticate each outer request: a JWT credential's token is fetched once
 * per run (bound to the caller's key with DPoP unless --no-dpop), and a fresh proof made for
 * every request; the other kinds sign or present theirs per request.
 */
function outerHeaders(
  agentUrl: string,
  cred: CallerCredential,
  trust: Trust,
  options: TokenOptions & { signedHeaders?: string[] },
): (request: OuterRequest) => Promise<Record<string, string>> {
  let access: Promise<AccessToken> | undefined;
  return async (request) => {
    if (cred.kind !== "jwt" && cred.kind !== "jwt-secret") return authHeaders(agentUrl, cred, request, trust, options);
    access ??= obtainToken(agentUrl, cred, trust, options);
    return tokenHeaders(await access, request.method, request.url);
  };
}

/** The imp a statement names: only a claim until it verified against the pin (SealedCaller does that next). */
async function statementImp(
  agentUrl: string,
  transport: Transport,
  headers: (request: OuterRequest) => Promise<Record<string, string>>,
): Promise<string> {
  const url = `${agentUrl}/_sealed/key`;
  const res = await transport({ method: "GET", url, headers: await headers({ method: "GET", url, headers: {}, body: new Uint8Array(0) }) });
  if (res.status !== 200)
    throw new CliError(`the key statement: the edge answered ${res.status}: ${new TextDecoder().decode(res.body).slice(0, 200)}`);
  try {
    const sub = decodeJwt(new TextDecoder().decode(res.body)).sub;
    if (typeof sub === "string") return sub;
  } catch {
    // refused below
  }
  throw new CliError("the edge served something that is not a key statement");
}

async function dataArg(data: string): Promise<Uint8Array> {
  if (!data.startsWith("@")) return new TextEncoder().encode(data);
  try {
    return await readFile(data.slice(1));
  } catch {
    throw new CliError(`cannot read ${data.slice(1)}`);
  }
}
