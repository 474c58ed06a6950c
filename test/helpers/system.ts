/**
 * The system under test: the real edge (`wrangler dev` on local HTTPS, isolated state, random
 * loopback port), provisioned with the real CLI, called over real TLS. Everything started here
 * is stopped by `stop()`. Most tests reach it through the fixture in e2e.ts.
 */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EdgeProcess, startEdge } from "../../dev/edge-process.ts";
import { type DevPki, ensureDevPki } from "../../dev/pki.ts";
import { type EdgeSecrets, makeEdgeSecrets } from "../../dev/secrets.ts";
import { impgate } from "./cli.ts";
import { type Reply, type RequestOptions, request } from "./https.ts";

export interface System {
  dir: string;
  pki: DevPki;
  secrets: EdgeSecrets;
  edge: EdgeProcess;
  /** The admin API's (and the console's) origin: the console's host when the edge has one (CONSOLE_HOST), else the edge's. */
  consoleOrigin: string;
  /** The admin profile (a file) for `impgate --profile`. */
  profile: string;
  /** Keep-alive connections for caller requests (see callerRequest). */
  callerAgent: https.Agent;
  /** What every edge this system ran printed, oldest first. */
  edgeOutput(): string;
  /** Restarts the edge on the same port with the same stored state; `whileDown` runs between stop and start. */
  restartEdge(whileDown?: () => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** Starts an edge of its own: its own secrets, CA, port and state directory. `vars` are extra edge variables. */
export async function startSystem(vars: Record<string, string> = {}): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), "impgate-e2e-"));
  const pki = await ensureDevPki(join(dir, "pki"));
  const secrets = await makeEdgeSecrets();
  const options = {
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    caPem: pki.caPem,
    persistTo: join(dir, "state"),
    isolatedDir: { dir, vars: { ...secrets, ...vars } },
  };
  const earlier: string[] = [];
  let edge: EdgeProcess;
  try {
    edge = await startEdge(options);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const system: System = {
    dir,
    pki,
    secrets,
    edge,
    consoleOrigin: vars.CONSOLE_HOST ? `https://${vars.CONSOLE_HOST}:${edge.port}` : edge.origin,
    profile: join(dir, "admin.json"),
    callerAgent: new https.Agent({ keepAlive: true, maxSockets: 8 }),
    edgeOutput: () => [...earlier, system.edge.output()].join("\n--- the edge restarted ---\n"),
    async restartEdge(whileDown) {
      const port = system.edge.port;
      await system.edge.stop();
      earlier.push(system.edge.output());
      await whileDown?.();
      system.edge = await startEdge({ ...options, port });
    },
    async stop() {
      system.callerAgent.destroy();
      await system.edge.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await writeFile(
    system.profile,
    JSON.stringify({
      edgeUrl: system.consoleOrigin,
      adminSecret: secrets.ADMIN_SECRET,
      caFiles: [pki.caFile],
      deviceTrust: { caFiles: [pki.caFile, pki.backupCaFile], pins: pki.pins },
    }),
  );
  return system;
}

export interface CreatedImp {
  impId: string;
  agentUrl: string;
  /** The device config `imp create` wrote. */
  config: string;
}

/** `impgate imp create`, as an admin would run it. */
export async function createImp(system: System, label = "e2e"): Promise<CreatedImp> {
  const config = join(system.dir, `device-${label}-${Math.random().toString(36).slice(2)}.json`);
  const r = await impgate(["imp", "create", "--label", label, "--out", config, "--json", "--profile", system.profile]);
  if (r.code !== 0) throw new Error(`imp create failed: ${r.stderr}`);
  const created = JSON.parse(r.stdout) as { impId: string; agentUrl: string };
  return { impId: created.impId, agentUrl: created.agentUrl, config };
}

/** A device config as JSON, to change before the daemon reads it. */
export type DeviceConfig = Record<string, unknown>;

/** Rewrites a device config: `edit` may change it in place or return a new one. */
export async function editConfig(
  path: string,
  edit: (config: DeviceConfig) => DeviceConfig | undefined | Promise<DeviceConfig | undefined>,
) {
  const config = JSON.parse(await readFile(path, "utf8")) as DeviceConfig;
  await writeFile(path, JSON.stringify((await edit(config)) ?? config));
}

/** Everything a credential can be granted: the tests' own caller may do all of it. */
const EVERYTHING = ["* /**", "messages:write", "messages:read", "events:read", "state:read", "state:write", "sealed"];

/**
 * Makes the test an authenticated caller of `imp` the way a user would: a caller key from
 * `impgate caller keygen`, registered with `impgate cred add` (every scope, plain bearer
 * tokens, so one header serves every request), exchanged by `impgate token`.
 * Returns the Authorization header (tokens live 5 minutes: ample for a test file).
 */
export async function callerAuth(system: System, imp: CreatedImp): Promise<Record<string, string>> {
  const key = join(system.dir, `caller-${Math.random().toString(36).slice(2)}.jwk`);
  const scopes = EVERYTHING.flatMap((s) => ["--scope", s]);
  for (const args of [
    ["caller", "keygen", "--out", key],
    [
      "cred",
      "add",
      imp.impId,
      "--kind",
      "jwt",
      "--public-key",
      key.replace(/\.jwk$/, ".pub.jwk"),
      ...scopes,
      "--no-dpop",
      "--profile",
      system.profile,
    ],
  ]) {
    const r = await impgate(args);
    if (r.code !== 0) throw new Error(`impgate ${args[0]}: ${r.stderr}`);
  }
  const r = await impgate(["token", imp.agentUrl, "--key", key, "--no-dpop", "--profile", system.profile]);
  if (r.code !== 0) throw new Error(`impgate token: ${r.stderr}`);
  return { authorization: `Bearer ${r.stdout.trim()}` };
}

/** One credential per imp and agent URL, made on first use. */
const callerHeaders = new Map<string, Promise<Record<string, string>>>();

/** The Authorization header of the tests' caller credential for `imp` (made by callerAuth on first use). */
export function callerCredential(system: System, imp: CreatedImp): Promise<Record<string, string>> {
  const key = `${imp.impId} ${imp.agentUrl}`;
  let auth = callerHeaders.get(key);
  if (!auth) {
    auth = callerAuth(system, imp);
    callerHeaders.set(key, auth);
    auth.catch(() => callerHeaders.delete(key));
  }
  return auth;
}

/**
 * A request to an agent URL path (`/_messages`, `/hello`…) as an authenticated caller. Callers
 * in the end-to-end tests go through here, so caller credentials are made in one place.
 */
export async function callerRequest(
  system: System,
  imp: CreatedImp,
  path: string,
  options: Omit<RequestOptions, "ca" | "agent"> = {},
): Promise<Reply> {
  return request(`${imp.agentUrl}${path}`, {
    ...options,
    headers: { ...options.headers, ...(await callerCredential(system, imp)) },
    ca: system.pki.caPem,
    agent: system.callerAgent,
  });
}
