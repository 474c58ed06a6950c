/**
 * `npm start`: the whole system on this machine, on HTTPS.
 *   1. a development CA and an edge certificate for localhost (.impgate/)
 *   2. the edge's secrets (.dev.vars, kept if present)
 *   3. the edge: `wrangler dev` on https://localhost:8787 (or $PORT), the fleet registry's
 *      migrations applied first; agent URLs on localhost, the console and the admin API on
 *      127.0.0.1 (another host, so another origin and cookie jar: worker/origins.ts)
 *   4. a demo imp, provisioned with the `impgate` CLI, and its device daemon in tunnel
 *      mode in front of a tiny local service
 * Then it prints the agent URL and a curl line. Ctrl-C stops everything it started.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { currentProfile, profileDir, saveProfile } from "../cli/profiles.ts";
import { applyMigrations } from "./d1-migrations.ts";
import { startDemoService } from "./demo-service.ts";
import { type EdgeProcess, PROJECT_ROOT, startEdge, stopGroup } from "./edge-process.ts";
import { ensureDevPki } from "./pki.ts";
import { freePort } from "./ports.ts";
import { type EdgeSecrets, makeEdgeSecrets, readDevVars, writeDevVars } from "./secrets.ts";

const DIR = join(PROJECT_ROOT, ".impgate");
/** Agent URLs and device links on one host name, the console and the admin API on another (one port). */
const HOSTS = { AGENT_HOST: "localhost", CONSOLE_HOST: "127.0.0.1" };
const run = promisify(execFile);
const say = (line: string) => process.stdout.write(`[impgate] ${line}\n`);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer().once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function ensureSecrets(): Promise<EdgeSecrets & Record<string, string>> {
  const path = join(PROJECT_ROOT, ".dev.vars");
  const current = (await exists(path)) ? await readDevVars(path) : {};
  const fresh = await makeEdgeSecrets();
  const merged = { ...fresh, ...current };
  if (Object.keys(fresh).some((k) => !(k in current))) await writeDevVars(path, merged);
  return merged;
}

function cli(args: string[]): Promise<string> {
  return run(
    process.execPath,
    [join(PROJECT_ROOT, "bin", "impgate.js"), ...args, ...(args[0] === "caller" ? [] : ["--profile", "local"])],
    {
      cwd: PROJECT_ROOT,
    },
  )
    .then((r) => r.stdout)
    .catch((err: { stderr?: string; message: string }) => {
      throw new Error((err.stderr || err.message).trim());
    });
}

async function ensureDemoImp(): Promise<{ impId: string; agentUrl: string }> {
  const demoFile = join(DIR, "demo.json");
  if (await exists(demoFile)) {
    const demo = JSON.parse(await readFile(demoFile, "utf8")) as { impId: string; agentUrl: string };
    // Reuse it if the edge still knows it (local state persists across runs).
    if (
      await cli(["imp", "show", demo.impId, "--json"]).then(
        () => true,
        () => false,
      )
    )
      return demo;
  }
  const created = JSON.parse(
    await cli(["imp", "create", "--label", "demo", "--out", join(DIR, "demo-device.json"), "--force", "--json"]),
  ) as { impId: string; agentUrl: string };
  await writeFile(demoFile, `${JSON.stringify({ impId: created.impId, agentUrl: created.agentUrl }, null, 2)}\n`);
  return created;
}

/** The demo caller: a key pair whose public half is a `jwt` credential of the demo imp, scoped to the demo's paths. */
async function ensureDemoCaller(impId: string): Promise<string> {
  const key = join(DIR, "demo-caller.jwk");
  if (!(await exists(key))) await cli(["caller", "keygen", "--out", key]);
  const pub = join(DIR, "demo-caller.pub.jwk");
  const scope = ["--scope", "GET /hello", "--scope", "POST /temperature"];
  // Registering twice is refused with 409; either way the key is a credential afterwards.
  await cli(["cred", "add", impId, "--kind", "jwt", "--label", "demo caller", "--public-key", pub, ...scope]).catch((err: Error) => {
    if (!err.message.includes("409")) throw err;
  });
  return key;
}

/** A reused demo device keeps working if the edge came up on another port this time. */
async function pointDeviceAt(configFile: string, origin: string): Promise<void> {
  const config = JSON.parse(await readFile(configFile, "utf8")) as { edgeUrl: string };
  if (config.edgeUrl === origin) return;
  config.edgeUrl = origin;
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let edge: EdgeProcess | undefined;
  let demo: Awaited<ReturnType<typeof startDemoService>> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    await Promise.all(children.map((c) => stopGroup(c)));
    await edge?.stop();
    await demo?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    const pki = await ensureDevPki(DIR);
    const secrets = await ensureSecrets();
    const wanted = Number(process.env.PORT ?? 8787);
    const port = (await portIsFree(wanted)) ? wanted : await freePort();
    if (port !== wanted) say(`port ${wanted} is busy; using ${port}`);

    say("applying the fleet registry's migrations (wrangler d1 migrations apply --local) …");
    await applyMigrations(PROJECT_ROOT, join(DIR, "state"));
    say(`starting the edge (wrangler dev, HTTPS) on https://localhost:${port} …`);
    edge = await startEdge({
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      caPem: pki.caPem,
      port,
      persistTo: join(DIR, "state"),
      vars: HOSTS,
    });
    const consoleOrigin = `https://${HOSTS.CONSOLE_HOST}:${edge.port}`;
    edge.child.on("exit", () => {
      if (!stopping) {
        say(`the edge exited unexpectedly:\n${edge?.output().slice(-2000)}`);
        void stop(1);
      }
    });

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
    await rm(join(DIR, "admin.json"), { force: true });

    // The demo service publishes `temperature` events through the daemon's loopback events endpoint.
    const eventsPort = await freePort();
    demo = await startDemoService({ eventsUrl: `http://127.0.0.1:${eventsPort}` });
    const imp = await ensureDemoImp();
    const callerKey = await ensureDemoCaller(imp.impId);
    await pointDeviceAt(join(DIR, "demo-device.json"), edge.origin);
    const device = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, "bin", "impgate-device.js"),
        "--config",
        join(DIR, "demo-device.json"),
        "--forward",
        `http://127.0.0.1:${demo.port}`,
        "--events-port",
        String(eventsPort),
      ],
      {
        cwd: PROJECT_ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.push(device);
    const ready = new Promise<void>((resolve) => {
      device.stdout?.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString().split("\n")) {
          if (!line.trim()) continue;
          if (process.env.IMPGATE_VERBOSE) process.stdout.write(`[device] ${line}\n`);
          if (line.includes('"msg":"ready"')) resolve();
          if (line.includes('"level":"error"')) process.stdout.write(`[device] ${line}\n`);
        }
      });
    });
    await Promise.race([
      ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the demo device did not connect within 30 s")), 30_000)),
    ]);

    const agentUrl = imp.agentUrl.replace(/^https:\/\/[^/]+/, edge.origin);
    const ca = join(profileDir("local"), "ca.pem");
    const local = (await currentProfile()) === "local" ? "" : " --profile local";
    say("ready. The demo imp's device is connected.");
    process.stdout.write(`
  agent URL:  ${agentUrl}
  try it:     curl --cacert ${ca} -H @<(impgate token ${agentUrl} --key ${callerKey}${local} --dpop-proof "GET ${agentUrl}/hello") ${agentUrl}/hello
  or:         impgate call ${agentUrl}/hello --key ${callerKey}${local}
  without a credential the edge answers 401:  curl --cacert ${ca} ${agentUrl}/hello
  admin CLI:  impgate imp show ${imp.impId}${local}   ·   impgate imp list${local}   ·   impgate audit ${imp.impId}${local}
  console:    ${consoleOrigin}/console  (sign in with ADMIN_SECRET from .dev.vars; your browser must trust ${ca})
  (impgate on your PATH: \`npm link\` once; or run \`npx impgate …\` in this folder)

  Ctrl-C stops the edge, the device daemon and the demo service.
`);
  } catch (err) {
    say(`could not start: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
