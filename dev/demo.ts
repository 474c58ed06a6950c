/**
 * `npm start`'s demo imp, made with the `impgate` CLI as a user would (profile `local`):
 * the imp, a caller key registered as its credential, and its device daemon in tunnel
 * mode. All of it is kept in the state folder and reused by the next run.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "./edge-process.ts";

const run = promisify(execFile);

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The `impgate` CLI against the `local` profile (caller commands need none). */
export function cli(args: string[]): Promise<string> {
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

export interface DemoImp {
  impId: string;
  agentUrl: string;
  /** Its device config, written by `imp create`. */
  config: string;
}

/** The demo imp: the one made by an earlier run if the edge still knows it, else a new one. */
export async function ensureDemoImp(dir: string): Promise<DemoImp> {
  const demoFile = join(dir, "demo.json");
  const config = join(dir, "demo-device.json");
  if ((await exists(demoFile)) && (await exists(config))) {
    const demo = JSON.parse(await readFile(demoFile, "utf8")) as { impId: string };
    const shown = await cli(["imp", "show", demo.impId, "--json"]).catch(() => null);
    if (shown) return { impId: demo.impId, agentUrl: (JSON.parse(shown) as { agentUrl: string }).agentUrl, config };
  }
  const created = JSON.parse(await cli(["imp", "create", "--label", "demo", "--out", config, "--force", "--json"])) as DemoImp;
  await writeFile(demoFile, `${JSON.stringify({ impId: created.impId }, null, 2)}\n`);
  return { impId: created.impId, agentUrl: created.agentUrl, config };
}

/** The demo caller: a key pair whose public half is a `jwt` credential of the demo imp, scoped to the demo's paths. */
export async function ensureDemoCaller(dir: string, impId: string): Promise<string> {
  const key = join(dir, "demo-caller.jwk");
  if (!(await exists(key))) await cli(["caller", "keygen", "--out", key]);
  const pub = join(dir, "demo-caller.pub.jwk");
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

/**
 * Starts the demo device's daemon in front of the local service; resolves once it is
 * connected. `spawned` gets the process at once, so that a Ctrl-C while it connects stops it too.
 */
export async function startDemoDevice(
  imp: DemoImp,
  origin: string,
  ports: { service: number; events: number },
  spawned: (child: ChildProcess) => void,
): Promise<void> {
  await pointDeviceAt(imp.config, origin);
  const device = spawn(
    process.execPath,
    [
      join(PROJECT_ROOT, "bin", "impgate-device.js"),
      "--config",
      imp.config,
      "--forward",
      `http://127.0.0.1:${ports.service}`,
      "--events-port",
      String(ports.events),
      "--log-format",
      "json",
    ],
    { cwd: PROJECT_ROOT, detached: true, stdio: ["ignore", "pipe", "inherit"] },
  );
  spawned(device);
  const ready = new Promise<void>((resolve, reject) => {
    device.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        if (process.env.IMPGATE_VERBOSE) process.stdout.write(`[device] ${line}\n`);
        if (line.includes('"msg":"ready"')) resolve();
        if (line.includes('"level":"error"')) process.stdout.write(`[device] ${line}\n`);
      }
    });
    device.once("exit", (code, signal) => reject(new Error(`the demo device exited (${signal ?? `code ${code}`}) before it connected`)));
  });
  // Lost to the timeout, its rejection must not end the process while npm start stops.
  ready.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the demo device did not connect within 30 s")), 30_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
