/**
 * `impgate-device e2e …`: the device's end-to-end sealing, set up on the device, where its
 * keys live (the edge holds none of them, and the admin CLI cannot rotate them):
 *   e2e add --config F [--sender caller.pub.jwk]… [--recipient owner.pub.jwk]…   who may send sealed traffic, who reads events
 *   e2e show --config F                  the fingerprint callers pin, the keys, who is listed
 *   e2e card --config F [--out card]     the fingerprint and imp id as a file, to hand to callers
 *   e2e rotate --config F [--overlap 7d] a new encryption key; a running daemon takes it up within seconds
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { calculateJwkThumbprint, type JWK } from "jose";
import { DeviceCard, SealedDeviceConfig, type SealedDeviceConfigInput } from "../protocol/sealed/config.ts";
import { fingerprint } from "../protocol/sealed/statement.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { readRaw, writeConfig } from "./keys.ts";
import { KEY_OVERLAP_MS, KEYS_FILE, SealedKeys } from "./sealed-keys.ts";
import { KEY_CHECK_MS } from "./sealed-outgoing.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);
const collect = (value: string, previous: string[] = []) => [...previous, value];

async function readKey(path: string, what: string): Promise<JWK> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as JWK;
  } catch {
    throw new ConfigError(`cannot read ${what} ${path}`);
  }
}

/** `7d`, `12h`, `30m`, `45s` or `0`, as milliseconds. */
function duration(value: string): number {
  const m = /^(\d{1,6})([smhd]?)$/.exec(value);
  if (!m || (m[2] === "" && m[1] !== "0"))
    throw new ConfigError(`--overlap takes a duration such as 7d, 12h, 30m, 45s, or 0 (got ${value})`);
  return Number(m[1]) * ({ s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"] ?? 0);
}

async function add(opts: { config: string; sender?: string[]; recipient?: string[]; allowPlaintext?: boolean }): Promise<void> {
  const raw = await readRaw(opts.config);
  const e2e = (typeof raw.e2e === "object" && raw.e2e !== null ? raw.e2e : {}) as SealedDeviceConfigInput;
  const senders = [...(e2e.senders ?? [])];
  const recipients = [...(e2e.recipients ?? [])];
  const added: string[] = [];
  for (const [files, list, kind] of [
    [opts.sender ?? [], senders, "sender"],
    [opts.recipient ?? [], recipients, "recipient"],
  ] as const) {
    for (const file of files) {
      const { d, kty, crv, x, y } = await readKey(file, `${kind} key`);
      if (d !== undefined)
        throw new ConfigError(`${file} holds a private key: pass the public half (.pub.jwk); the private key stays with its owner`);
      const jwk = { kty, crv, x, ...(y === undefined ? {} : { y }) } as JWK;
      const id = await calculateJwkThumbprint(jwk).catch(() => "");
      const known = await Promise.all(list.map((k) => calculateJwkThumbprint(k as JWK).catch(() => "")));
      if (!known.includes(id)) (list as JWK[]).push(jwk);
      added.push(`${kind} ${id}${known.includes(id) ? " (already listed)" : ""}`);
    }
  }
  const next = { ...e2e, senders, recipients, ...(opts.allowPlaintext === undefined ? {} : { allowPlaintext: opts.allowPlaintext }) };
  const parsed = SealedDeviceConfig.safeParse(next);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`e2e.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  await writeConfig(opts.config, { ...raw, e2e: next });
  for (const line of added) say(`added ${line}`);
  say(
    `${opts.config}: ${senders.length} sender(s), ${recipients.length} recipient(s); plaintext ${parsed.data.allowPlaintext ? "accepted" : "refused"}`,
  );
  say("restart the daemon to take it up (systemctl restart impgate-device)");
}

async function open(configPath: string) {
  const config = await loadConfig(configPath);
  if (!config.e2e)
    throw new ConfigError(`${configPath} has no e2e section: impgate-device e2e add --config ${configPath} --sender caller.pub.jwk`);
  const stateDir = config.stateDir ?? ".";
  const keys = await SealedKeys.open(join(stateDir, config.e2e.keysFile ?? KEYS_FILE), {
    impId: config.impId,
    identityKey: config.deviceKey,
  });
  return { config, e2e: config.e2e, keys };
}

async function show(opts: { config: string }): Promise<void> {
  const { config, e2e, keys } = await open(opts.config);
  const previous = keys.previous;
  say(`imp:         ${config.impId}`);
  say(`fingerprint: ${keys.pin}   (callers pin this: impgate e2e pin <agent URL> --fingerprint ${keys.pin})`);
  say(`key:         ${keys.keyId} (statement #${keys.sequence})`);
  if (previous) say(`previous:    ${previous.keyId}, opens until ${new Date(previous.acceptUntil).toISOString()}`);
  for (const s of e2e.senders) say(`sender:      ${await calculateJwkThumbprint(s as JWK)} (${s.crv})`);
  for (const r of e2e.recipients) say(`recipient:   ${await calculateJwkThumbprint(r as JWK)} (events are sealed to it)`);
  if (e2e.senders.length === 0) say("sender:      none: every sealed request and message is refused");
  say(`plaintext:   ${e2e.allowPlaintext ? "accepted as well" : "refused (requests and messages must be sealed)"}`);
}

async function card(opts: { config: string; out: string }): Promise<void> {
  const config = await loadConfig(opts.config);
  const value: DeviceCard = { impId: config.impId, fingerprint: await fingerprint(config.deviceKey) };
  await writeFile(opts.out, `${JSON.stringify(DeviceCard.parse(value), null, 2)}\n`, { mode: 0o644 });
  say(`${opts.out}: ${value.fingerprint} for ${value.impId} (public: hand it to callers)`);
  say(`callers: impgate e2e pin <agent URL> --card ${opts.out}`);
}

async function rotate(opts: { config: string; overlap?: string }): Promise<void> {
  const { keys, e2e } = await open(opts.config);
  const overlapMs = opts.overlap === undefined ? (e2e.overlapMs ?? KEY_OVERLAP_MS) : duration(opts.overlap);
  const before = keys.keyId;
  await keys.rotate({ overlapMs });
  say(`new encryption key ${keys.keyId} (statement #${keys.sequence}) in place of ${before}`);
  say(
    overlapMs > 0
      ? `the old key still opens what was sealed to it until ${new Date(Date.now() + overlapMs).toISOString()}, then it is deleted`
      : "the old key was deleted now: what was sealed to it no longer opens",
  );
  say(`a running daemon takes the new key up within ${KEY_CHECK_MS / 1000} s and hands its statement to the edge`);
}

export function e2eCommands(program: Command): void {
  const e2e = program.command("e2e").description("end-to-end sealing on this device: who may send, who reads events, its keys");
  e2e
    .command("add")
    .description("let a caller send sealed requests and messages (--sender), or an owner read sealed events (--recipient)")
    .requiredOption("-c, --config <file>", "the device config")
    .option("--sender <pub.jwk>", "a caller's public key (impgate caller keygen wrote it beside caller.jwk); repeatable", collect)
    .option("--recipient <pub.jwk>", "an owner's public key (impgate e2e keygen wrote it beside owner.jwk); repeatable", collect)
    .option("--allow-plaintext", "also take requests and messages that are not sealed")
    .option("--no-allow-plaintext", "refuse requests and messages that are not sealed (the default)")
    .addHelpText("after", "\nExample:\n  impgate-device e2e add --config device.json --sender caller.pub.jwk --recipient owner.pub.jwk")
    .action(add);
  e2e
    .command("show")
    .description("the fingerprint callers pin, the current and previous encryption keys, the senders and recipients")
    .requiredOption("-c, --config <file>", "the device config")
    .action(show);
  e2e
    .command("card")
    .description("write the device's card (imp id and fingerprint) for callers to pin: impgate e2e pin <agent URL> --card <file>")
    .requiredOption("-c, --config <file>", "the device config")
    .option("-o, --out <file>", "where to write it", "device-card.json")
    .action(async (opts: { config: string; out: string }) => card({ ...opts, out: resolve(opts.out) }));
  e2e
    .command("rotate")
    .description("a new encryption key; the old one keeps opening what was sealed to it for the overlap")
    .requiredOption("-c, --config <file>", "the device config")
    .option("--overlap <duration>", "how long the old key still opens (7d, 12h, 30m, 45s; 0 after a compromise); default 7 days 5 minutes")
    .addHelpText(
      "after",
      "\nExample:\n  impgate-device e2e rotate --config device.json\n  impgate-device e2e rotate --config device.json --overlap 0   # the old key leaked",
    )
    .action(rotate);
}
