/**
 * `npm start`: the whole system on this machine.
 *   1. a development CA and an edge certificate for localhost (.impgate/)
 *   2. the edge's secrets (.dev.vars, kept if present)
 *   3. the edge (./local-edge.ts) on https://localhost:8787, and on http://localhost:8788 for
 *      plain HTTP (each moves to the next port if taken), on loopback only, the fleet
 *      registry's migrations applied first; agent URLs on localhost, the web console and the
 *      admin API on 127.0.0.1 (another host, so another origin and cookie jar: worker/origins.ts)
 *   4. a demo imp, provisioned with the `impgate` CLI, and its device daemon in tunnel
 *      mode in front of a tiny local service
 * Then it prints the agent URL, curl lines and `export` lines for the README's examples,
 * and one line per request to the demo imp's agent URL (its live request log, as
 * `impgate tail` reads it). Ctrl-C stops everything it started.
 *
 *   npm start [-- --port 8787] [--http-port 8788] [--dir .impgate]   (or PORT, HTTP_PORT, IMPGATE_DEV_DIR)
 * With --dir, everything it keeps (also the .dev.vars) goes there.
 */
import type { ChildProcess } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { currentProfile, profileDir, saveProfile } from "../cli/profiles.ts";
import { followTail, formatTailLine, type TailReader } from "../cli/tail-client.ts";
import { applyMigrations } from "./d1-migrations.ts";
import { ensureDemoCaller, ensureDemoImp, exists, startDemoDevice } from "./demo.ts";
import { startDemoService } from "./demo-service.ts";
import { PROJECT_ROOT, stopGroup } from "./edge-process.ts";
import { type LocalEdge, startLocalEdge } from "./local-edge.ts";
import { ensureDevPki } from "./pki.ts";
import { freePort } from "./ports.ts";
import { type EdgeSecrets, makeEdgeSecrets, readDevVars, writeDevVars } from "./secrets.ts";

const say = (line: string) => process.stdout.write(`[impgate] ${line}\n`);
/** Agent URLs and device links on one host name, the console and the admin API on another (one port). */
const HOSTS = { AGENT_HOST: "localhost", CONSOLE_HOST: "127.0.0.1" };

function port(value: string | undefined, fallback: number, name: string): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}: a port number from 1 to 65535, not "${value}"`);
  return n;
}

function settings() {
  const { values } = parseArgs({
    options: { port: { type: "string" }, "http-port": { type: "string" }, dir: { type: "string" } },
    strict: true,
  });
  const https = port(values.port ?? process.env.PORT, 8787, "--port");
  const dirArg = values.dir ?? process.env.IMPGATE_DEV_DIR;
  const dir = dirArg ? resolve(dirArg) : join(PROJECT_ROOT, ".impgate");
  return {
    port: https,
    httpPort: port(values["http-port"] ?? process.env.HTTP_PORT, https + 1, "--http-port"),
    dir,
    devVars: dirArg ? join(dir, ".dev.vars") : join(PROJECT_ROOT, ".dev.vars"),
  };
}

async function ensureSecrets(path: string): Promise<EdgeSecrets & Record<string, string>> {
  const current = (await exists(path)) ? await readDevVars(path) : {};
  const fresh = await makeEdgeSecrets();
  const merged = { ...fresh, ...current };
  if (Object.keys(fresh).some((k) => !(k in current))) await writeDevVars(path, merged);
  return merged;
}

/** A value for an `export` line, quoted only if the shell needs it. */
function sh(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./~-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let edge: LocalEdge | undefined;
  let demo: Awaited<ReturnType<typeof startDemoService>> | undefined;
  let requests: TailReader | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    requests?.stop();
    await Promise.all(children.map((c) => stopGroup(c)));
    await edge?.stop().catch(() => {});
    await demo?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    const { dir, devVars, ...ports } = settings();
    const pki = await ensureDevPki(dir);
    const secrets = await ensureSecrets(devVars);

    // The fleet registry's tables: `wrangler d1 migrations apply --local` on the D1 the edge keeps, each time.
    const registry = join(dir, "registry");
    say("applying the fleet registry's migrations …");
    await applyMigrations(PROJECT_ROOT, registry);
    say(`starting the edge on https://localhost:${ports.port} and http://localhost:${ports.httpPort} …`);
    edge = await startLocalEdge({
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      ...ports,
      stateDir: join(dir, "edge-state"),
      d1Persist: join(registry, "v3", "d1"),
      buildDir: join(dir, "edge-bundle"),
      vars: { ...secrets, ...HOSTS },
      onLine: (line) => {
        if (process.env.IMPGATE_VERBOSE) process.stdout.write(`[edge] ${line}\n`);
      },
      onExit: () => {
        if (stopping) return;
        say(`the edge exited unexpectedly:\n${edge?.output().slice(-2000)}`);
        void stop(1);
      },
    });
    for (const { port, listener } of edge.taken)
      say(`port ${port} was taken; ${listener === "https" ? "HTTPS" : "plain HTTP"} tried the next one`);
    if (edge.taken.length) say(`the edge is on ${edge.origin} and ${edge.httpOrigin}`);
    const consoleOrigin = `https://${HOSTS.CONSOLE_HOST}:${edge.port}`;

    // The CLI's profile "local", in the user's config directory, so `impgate` works from any folder
    // (the current profile too, unless another one is). It replaces the project-local .impgate/admin.json.
    await saveProfile(
      "local",
      {
        edgeUrl: consoleOrigin,
        adminSecret: secrets.ADMIN_SECRET,
        ca: [pki.caPem],
        deviceTrust: { ca: [pki.caPem, await readFile(pki.backupCaFile, "utf8")], pins: pki.pins },
      },
      "if-none",
    );
    await rm(join(dir, "admin.json"), { force: true });

    // The demo service publishes `temperature` events through the daemon's loopback events endpoint.
    const eventsPort = await freePort();
    demo = await startDemoService({ eventsUrl: `http://127.0.0.1:${eventsPort}` });
    const imp = await ensureDemoImp(dir);
    const callerKey = await ensureDemoCaller(dir, imp.impId);
    await startDemoDevice(imp, edge.origin, { service: demo.port, events: eventsPort }, (child) => children.push(child));

    const agentUrl = imp.agentUrl;
    const httpAgentUrl = agentUrl.replace(edge.origin, edge.httpOrigin);
    const ca = join(profileDir("local"), "ca.pem");
    const isCurrent = (await currentProfile()) === "local";
    const local = isCurrent ? "" : " --profile local";
    say("ready. The demo imp's device is connected.");
    process.stdout.write(`
  agent URL:  ${agentUrl}
  try it:     curl --cacert ${ca} -H @<(impgate token ${agentUrl} --key ${callerKey}${local} --dpop-proof "GET ${agentUrl}/hello") ${agentUrl}/hello
  or:         impgate call ${agentUrl}/hello --key ${callerKey}${local}
  without a credential the edge answers 401:  curl --cacert ${ca} ${agentUrl}/hello
  over plain HTTP it answers 401 Insecure access forbidden:  curl -i ${httpAgentUrl}/hello
  admin CLI:  impgate imp show ${imp.impId}${local}   ·   impgate imp list${local}   ·   impgate tail ${imp.impId}${local}
  console:    ${consoleOrigin}/console  (sign in with ADMIN_SECRET from ${devVars}; your browser must trust ${ca})
  (impgate on your PATH: \`npm link\` once; or run \`npx impgate …\` in this folder)

  For the README's examples, paste:
  export IMP=${sh(imp.impId)} AGENT=${sh(agentUrl)} CA=${sh(ca)} EVENTS_PORT=${eventsPort}${isCurrent ? "" : " IMPGATE_PROFILE=local"}

  Ctrl-C stops the edge, the device daemon and the demo service. Requests to the demo imp:
`);

    // One line per request to the demo imp, from its live request log (what `impgate tail` shows).
    requests = followTail(
      {
        label: 'profile "local"',
        edgeUrl: consoleOrigin,
        adminSecret: secrets.ADMIN_SECRET,
        trust: { ca: [pki.caPem], source: "the dev CA" },
        deviceTrust: async () => undefined,
      },
      imp.impId,
      {
        line: (line) => process.stdout.write(`[request] ${formatTailLine(line)}\n`),
        dropped: (count) => say(`${count} request lines dropped (printed too slowly)`),
        lost: (why) => say(`the request log: ${why}; reconnecting`),
      },
    );
    requests.done.catch((err: Error) => say(`the request log stopped: ${err.message}`));
  } catch (err) {
    // A Ctrl-C while starting also ends what was running (the CLI, the daemon): that is no failure.
    if (stopping) return;
    say(`could not start: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
