/**
 * `npm start` (dev/start.ts) as a process, on random ports with its state in a temp folder:
 * a port taken when the edge binds moves it to the next one, the curl and CLI lines it
 * prints work as printed from another folder, the `export` lines work as pasted, plain HTTP
 * reaches the edge itself and is refused with 401, and each request to the demo imp is
 * printed as one line with nothing secret in it. The console and the admin API answer on
 * 127.0.0.1 only (agent URLs on localhost), and from another address of the machine nothing
 * answers at all. Ctrl-C stops everything: no workerd, no device daemon left.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import http from "node:http";
import { connect, createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { freePort, freeStablePort } from "../../dev/ports.ts";
import { readDevVars } from "../../dev/secrets.ts";
import { impgate } from "../helpers/cli.ts";
import { Daemon } from "../helpers/daemon.ts";
import { eventually } from "../helpers/eventually.ts";
import { request } from "../helpers/https.ts";

const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Holds a loopback port the way another program would. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return server;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once("error", () => resolve(false))
      .listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Pids of the processes whose command line mentions `text` (the demo device's config file). */
async function processesWith(text: string): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((p) => /^\d+$/.test(p));
  const found: number[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text)) found.push(Number(pid));
  }
  return found;
}

function plainGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

/** This machine's addresses other than loopback (IPv4 and global IPv6), as a neighbour on its network would reach it. */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith("fe80:"))
    .map((a) => a?.address ?? "");
}

/** What a TCP connection to host:port comes to: "connected", or the error's code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

describe("npm start", () => {
  it("moves off a port taken at bind time, prints working export lines, refuses plain HTTP and logs each request", async () => {
    const dir = await mkdtemp(join(tmpdir(), "impgate-start-"));
    const config = join(dir, "config");
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const wanted = await freeStablePort();
    await occupy(wanted);
    const httpPort = await freePort();
    const env = { ...process.env, XDG_CONFIG_HOME: config };
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "dev", "start.ts"), "--port", String(wanted), "--http-port", String(httpPort), "--dir", join(dir, "state")],
      {
        cwd: PROJECT_ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env,
      },
    );
    const start = new Daemon(child, "npm start");
    cleanups.push(() => start.stop());
    const said = () => start.lines.map((l) => String(l.raw ?? JSON.stringify(l)));

    const exported = await start.waitFor((l) => String(l.raw).trim().startsWith("export IMP="), 120_000, "the export line");
    const vars = Object.fromEntries(
      String(exported.raw)
        .trim()
        .replace(/^export /, "")
        .split(" ")
        .map((kv) => kv.split("=", 2) as [string, string]),
    );
    expect(said()).toContainEqual(expect.stringContaining(`port ${wanted} was taken; HTTPS tried the next one`));
    expect(vars.IMP).toMatch(/^imp_/);
    expect(vars.AGENT).toMatch(/^https:\/\/localhost:\d+\/agent\/agt_/);
    expect(vars.AGENT).not.toContain(`:${wanted}/`);
    const ca = await readFile(vars.CA ?? "", "utf8");
    expect(ca).toContain("BEGIN CERTIFICATE");

    // The lines it printed, run as printed from a folder outside the repository, with `impgate`
    // on the PATH (as `npm link` puts it).
    const outside = join(dir, "elsewhere");
    await mkdir(join(outside, "bin"), { recursive: true });
    await symlink(join(PROJECT_ROOT, "bin", "impgate.js"), join(outside, "bin", "impgate"));
    const shell = { ...env, PATH: `${join(outside, "bin")}:${dirname(process.execPath)}:${process.env.PATH}` };
    const printed = async (label: string): Promise<string> => {
      const line = said().find((l) => l.trimStart().startsWith(label) || l.includes(` ${label} `)) ?? "";
      const command = line.slice(line.indexOf(label) + label.length).trim();
      expect(command).not.toBe("");
      return (await run("bash", ["-c", command], { cwd: outside, env: shell, timeout: 30_000 })).stdout;
    };
    expect(JSON.parse(await printed("try it:"))).toMatchObject({ hello: "from the device", path: "/hello" });
    expect(JSON.parse(await printed("or:"))).toMatchObject({ hello: "from the device", path: "/hello" });
    expect(JSON.parse(await printed("the edge answers 401:")).error.code).toBe("unauthorized");
    expect(await printed("Insecure access forbidden:")).toMatch(/^HTTP\/1\.1 401 [\s\S]*"insecure_access"/);
    await start.waitFor((l) => / GET \/hello {2}200 {2}\d+ms {2}[A-Za-z0-9_-]{43}$/.test(String(l.raw)), 15_000, "the try-it line's line");

    // As pasted: the README's calls with $IMP, $AGENT and $CA.
    const shown = await impgate(["imp", "show", vars.IMP ?? "", "--json"], { XDG_CONFIG_HOME: config });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).agentUrl).toBe(vars.AGENT);
    // The printed "try it" line: a DPoP-bound token and its proof for this one request.
    const key = join(dir, "state", "demo-caller.jwk");
    const token = await impgate(["token", vars.AGENT ?? "", "--key", key, "--dpop-proof", `GET ${vars.AGENT}/hello`, "--json"], {
      XDG_CONFIG_HOME: config,
    });
    expect(token.code).toBe(0);
    const { headers } = JSON.parse(token.stdout) as { headers: { authorization: string; dpop: string } };
    const hello = await request(`${vars.AGENT}/hello?secret=${"z".repeat(12)}`, { ca, headers });
    expect(hello.status).toBe(200);

    // Plain HTTP, as the printed curl line sends it: the edge itself sees http: and refuses.
    const curl = said().find((l) => l.includes("curl -i http://"));
    const plainUrl = /curl -i (http:\/\/\S+)/.exec(curl ?? "")?.[1] ?? "";
    expect(plainUrl).toMatch(new RegExp(`^http://localhost:${httpPort}/agent/agt_.*/hello$`));
    const plain = await plainGet(plainUrl.replace(/\/hello$/, "/over-http"));
    expect(plain.status).toBe(401);
    expect(JSON.parse(plain.body).error).toEqual({ code: "insecure_access", message: "Insecure access forbidden" });

    // The web console and the admin API on a host of their own (127.0.0.1), not the agents'
    // (localhost); and the edge on loopback only: from this machine's other addresses, nothing.
    const edgePort = Number(new URL(vars.AGENT ?? "").port);
    const consoleUrl = /console:\s+(https:\/\/\S+)/.exec(said().find((l) => l.trimStart().startsWith("console:")) ?? "")?.[1];
    expect(consoleUrl).toBe(`https://127.0.0.1:${edgePort}/console`);
    expect((await request(`${consoleUrl}/sign-in`, { ca })).status).toBe(200);
    const admin = { authorization: `Bearer ${(await readDevVars(join(dir, "state", ".dev.vars"))).ADMIN_SECRET}` };
    expect((await request(`https://127.0.0.1:${edgePort}/admin/imps`, { ca, headers: admin })).status).toBe(200);
    expect((await request(`https://localhost:${edgePort}/admin/imps`, { ca, headers: admin })).status).toBe(404);
    expect(otherAddresses().length, "this machine has an address besides loopback").toBeGreaterThan(0);
    expect(await tryConnect("127.0.0.1", edgePort)).toBe("connected");
    for (const host of otherAddresses()) {
      for (const p of [edgePort, httpPort]) expect(await tryConnect(host, p), `${host}:${p}`).not.toBe("connected");
    }

    // One line per request, from the demo imp's live request log.
    await start.waitFor((l) => / GET \/hello\?… {2}200 {2}\d+ms {2}[A-Za-z0-9_-]{43}$/.test(String(l.raw)), 15_000, "the /hello line");
    await start.waitFor((l) => / GET \/over-http {2}401 insecure_access {2}\d+ms {2}-$/.test(String(l.raw)), 15_000, "the plain HTTP line");
    const requestLines = said()
      .filter((l) => l.startsWith("[request]"))
      .join("\n");
    const agentId = vars.AGENT?.split("/agent/")[1] ?? "";
    const { ADMIN_SECRET = "" } = await readDevVars(join(dir, "state", ".dev.vars"));
    const bearer = headers.authorization.replace(/^DPoP /, "");
    for (const secret of [agentId, bearer, headers.dpop, "z".repeat(12), ADMIN_SECRET]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(requestLines).not.toContain(secret);
    }

    // Ctrl-C: everything stops, the ports are free again.
    const port = Number(new URL(vars.AGENT ?? "").port);
    expect(await processesWith(`=127.0.0.1:${port}`)).toHaveLength(1);
    child.kill("SIGINT");
    expect(await start.exited(30_000)).toBe(0);
    await eventually(() => isFree(port), { timeout: 10_000, what: "the edge's port free again" });
    // No workerd (its command line names the port it served) and no device daemon left behind.
    expect(await processesWith(`=127.0.0.1:${port}`)).toEqual([]);
    expect(await processesWith(join(dir, "state", "demo-device.json"))).toEqual([]);
  }, 180_000);
});
