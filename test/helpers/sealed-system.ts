/**
 * A sealed imp in the real system, set up as its people would: the admin creates the imp and
 * requires sealing (`impgate imp set --e2e`), a caller makes a key (`impgate caller keygen`)
 * that becomes both its credential (`impgate cred add`) and a sender on the device, an owner
 * makes a key for events (`impgate e2e keygen`), the device lists both (`impgate-device e2e
 * add`), the daemon runs in tunnel mode, and the caller pins the device's fingerprint
 * (`impgate e2e pin`). The CLI's pins live in a config folder of the test's own.
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JWK } from "jose";
import { createDpopProof } from "../../caller/dpop.ts";
import { importCallerKey } from "../../caller/key.ts";
import { type CliResult, impgate } from "./cli.ts";
import type { Daemon } from "./daemon.ts";
import type { E2E, Handler } from "./e2e.ts";
import type { LocalService } from "./local-service.ts";
import type { CreatedImp } from "./system.ts";

export interface SealedDevice {
  imp: CreatedImp;
  service: LocalService;
  daemon: Daemon;
  /** The caller's private key file (credential and sender), the owner's, and the device's fingerprint. */
  callerKey: string;
  ownerKey: string;
  fingerprint: string;
  /** The daemon's events endpoint. */
  eventsPort: number;
  /** The CLI as the caller runs it: this system's CA, the test's own pins. */
  caller(...args: string[]): Promise<CliResult>;
  /** `impgate-device` on the device. */
  device(...args: string[]): Promise<CliResult>;
}

export async function sealedDevice(
  e2e: E2E,
  label: string,
  options: { mode?: "required" | "optional"; service?: Handler; pin?: boolean; scope?: string[] } = {},
): Promise<SealedDevice> {
  const dir = await mkdtemp(join(e2e.system.dir, `sealed-${label}-`));
  const env = { XDG_CONFIG_HOME: join(dir, "config") };
  const run = async (bin: "impgate" | "impgate-device", args: string[]) => {
    const r = await impgate(args, env, dir, bin);
    return r;
  };
  const must = async (bin: "impgate" | "impgate-device", args: string[]) => {
    const r = await run(bin, args);
    if (r.code !== 0) throw new Error(`${bin} ${args.slice(0, 3).join(" ")}: ${r.stderr}`);
    return r;
  };
  const imp = await e2e.imp(label);
  const callerKey = join(dir, "caller.jwk");
  const ownerKey = join(dir, "owner.jwk");
  await must("impgate", ["caller", "keygen", "--out", callerKey]);
  await must("impgate", [
    "cred",
    "add",
    imp.impId,
    "--kind",
    "jwt",
    "--public-key",
    join(dir, "caller.pub.jwk"),
    // By default what a sealed caller needs, and nothing else: sealed requests, sealed messages, events.
    ...(options.scope ?? ["sealed", "messages:write", "events:read"]).flatMap((entry) => ["--scope", entry]),
    "--profile",
    e2e.system.profile,
  ]);
  await must("impgate", ["e2e", "keygen", "--out", ownerKey]);
  await must("impgate-device", [
    "e2e",
    "add",
    "--config",
    imp.config,
    "--sender",
    join(dir, "caller.pub.jwk"),
    "--recipient",
    join(dir, "owner.pub.jwk"),
  ]);
  const shown = await must("impgate", [
    "imp",
    "set",
    imp.impId,
    "--e2e",
    options.mode ?? "required",
    "--json",
    "--profile",
    e2e.system.profile,
  ]);
  const fingerprint = (JSON.parse(shown.stdout) as { deviceFingerprint: string }).deviceFingerprint;
  const service = await e2e.service(options.service);
  const daemon = e2e.daemon(imp, ["--forward", service.url, "--events-port", "0"]);
  await daemon.waitReady();
  const eventsPort = Number((await daemon.waitFor((l) => l.msg === "events endpoint listening")).port);
  await daemon.waitFor((l) => l.msg === "key statement sent to the edge");
  const caller = (...args: string[]) => run("impgate", [...args, "--profile", e2e.system.profile]);
  if (options.pin !== false) {
    const pinned = await caller("e2e", "pin", imp.agentUrl, "--fingerprint", fingerprint);
    if (pinned.code !== 0) throw new Error(`e2e pin: ${pinned.stderr}`);
  }
  return { imp, service, daemon, callerKey, ownerKey, fingerprint, eventsPort, caller, device: (...args) => run("impgate-device", args) };
}

/**
 * What a caller of `d` sends the edge on each request, as main's default jwt credential wants
 * it: the DPoP-bound token `impgate token` prints, and a fresh proof for this method and URL.
 */
export async function dpopAuth(d: SealedDevice): Promise<(method: string, url: string) => Promise<Record<string, string>>> {
  const token = await d.caller("token", d.imp.agentUrl, "--key", d.callerKey);
  if (token.code !== 0) throw new Error(`impgate token: ${token.stderr}`);
  const accessToken = token.stdout.trim();
  const key = await importCallerKey(await readJwk(d.callerKey));
  return async (method, url) => ({
    authorization: `DPoP ${accessToken}`,
    dpop: await createDpopProof(key, { method, url, accessToken }),
  });
}

/**
 * Every file the edge keeps on disk (its Durable Objects' SQLite databases and their
 * write-ahead logs, as `wrangler dev --persist-to` writes them), as raw bytes: what someone
 * who took the edge's storage would hold. Rows deleted since stay in free pages until
 * reused, so what was ever stored in the clear is likely still there.
 */
export async function edgeStorageFiles(e2e: E2E): Promise<{ path: string; bytes: Buffer }[]> {
  const root = join(e2e.system.dir, "state");
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Promise.all(files.map(async (path) => ({ path, bytes: await readFile(path) })));
}

export async function readJwk(path: string): Promise<JWK> {
  return JSON.parse(await readFile(path, "utf8")) as JWK;
}

/** Publishes an event from the local service, as tunnel mode's events endpoint takes it. */
export async function publish(port: number, name: string, body: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/events/${name}`, { method: "POST", headers: { "content-type": "text/plain" }, body });
  return res.status;
}
