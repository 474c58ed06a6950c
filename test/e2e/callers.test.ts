/**
 * Caller authentication end to end: the real CLI, the real edge, the real daemon. Every
 * credential kind reaches the device, and the README's caller lines work as printed.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { type CreatedImp, createImp, type Daemon, impgate, request, type System, startDaemon, startSystem } from "../helpers/system.ts";

const run = promisify(execFile);

describe("callers, end to end", () => {
  let system: System;
  let service: LocalService;
  let imp: CreatedImp;
  let daemon: Daemon;
  const cli = (...args: string[]) => impgate([...args, "--profile", system.profile]);

  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService((req, res) => res.end(`device saw ${req.method} ${req.url}`));
    imp = await createImp(system, "callers");
    daemon = startDaemon(imp.config, ["--forward", service.url]);
    await daemon.waitReady();
  });
  afterAll(async () => {
    await daemon?.stop();
    await service?.close();
    await system?.stop();
  });

  it("refuses a caller without a credential, and the device sees nothing", async () => {
    const before = service.received.length;
    const res = await request(`${imp.agentUrl}/open`, { ca: system.pki.caPem, method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(service.received.length).toBe(before);
  });

  it("`impgate call` reaches the device with each kind of credential", async () => {
    const keyFile = join(system.dir, "caller.jwk");
    expect((await impgate(["caller", "keygen", "--out", keyFile])).code).toBe(0);
    expect((await cli("cred", "add", imp.impId, "--kind", "jwt", "--public-key", join(system.dir, "caller.pub.jwk"))).code).toBe(0);
    const files: Record<string, string> = {};
    for (const [kind, extra] of [
      ["jwt-secret", []],
      ["totp", []],
      ["webhook", ["--format", "github"]],
      ["webhook", ["--format", "stripe"]],
      ["webhook", ["--format", "generic"]],
    ] as const) {
      const out = join(system.dir, `${kind}-${extra[1] ?? "x"}.json`);
      const r = await cli("cred", "add", imp.impId, "--kind", kind, ...extra, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/secret: \S+ +\(shown once/);
      files[`${kind}${extra[1] ? `/${extra[1]}` : ""}`] = out;
    }
    const calls: [string, string[]][] = [
      ["jwt", ["--key", keyFile]],
      ...Object.entries(files).map(([name, file]) => [name, ["--cred-file", file]] as [string, string[]]),
    ];
    for (const [name, args] of calls) {
      const r = await cli("call", `${imp.agentUrl}/door?who=${encodeURIComponent(name)}`, "-X", "POST", "-d", `{"via":"${name}"}`, ...args);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe(`device saw POST /door?who=${encodeURIComponent(name)}`);
    }
    const list = await cli("cred", "list", imp.impId);
    expect(list.stdout.trim().split("\n")).toHaveLength(6);
  });

  it("the README's caller lines work as printed from any folder, and running them again makes no new credential", async () => {
    const readme = await readFile(join(PROJECT_ROOT, "README.md"), "utf8");
    const block = /<!-- callers:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- callers:end -->/.exec(readme)?.[1];
    expect(block).toBeTruthy();
    // A folder outside the repository, `impgate` on the PATH (as `npm link` puts it), a fresh config directory with a login.
    const dir = join(system.dir, "readme");
    const bin = join(dir, "bin");
    await mkdir(bin, { recursive: true });
    await symlink(join(PROJECT_ROOT, "bin", "impgate.js"), join(bin, "impgate"));
    const env = {
      ...process.env,
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`,
      XDG_CONFIG_HOME: join(dir, "config"),
      IMP: imp.impId,
      AGENT: imp.agentUrl,
      CA: join(dir, "config", "impgate", "profiles", "default", "ca.pem"),
    };
    const login = `impgate login --edge ${system.edge.origin} --admin-secret ${system.secrets.ADMIN_SECRET} --ca ${system.pki.caFile}`;
    await run("bash", ["-c", login], { cwd: dir, env, timeout: 30_000 });
    const credentials = async () => (await cli("cred", "list", imp.impId)).stdout.trim().split("\n").length;
    const before = { seen: service.received.length, credentials: await credentials() };
    const script = `set -euo pipefail\n${block!.replace(/^curl /gm, "curl -sS --fail-with-body ")}`;
    const { stdout } = await run("bash", ["-c", script], { cwd: dir, env, timeout: 90_000 });
    const seen = service.received.slice(before.seen).map((r) => `${r.method} ${r.url}`);
    const expected = ["GET /hello", "GET /hello", "POST /hooks/github", "POST /hooks/stripe", "GET /hello", "POST /hooks/github"];
    expect(seen).toEqual(expected);
    expect(stdout).toContain("device saw GET /hello");
    expect(await credentials()).toBe(before.credentials + 4);
    for (const f of ["caller.jwk", "totp.json", "github.json", "stripe.json"])
      expect((await stat(join(dir, ".impgate", f))).mode & 0o777).toBe(0o600);

    // Again, as someone re-running the block would: what would make a second key or credential refuses,
    // the key and files of the first run keep working (the same GitHub signature, or the same code within
    // its 30 s, is refused as a replay: by design).
    const again = await run("bash", ["-c", `${block!.replace(/^curl /gm, "curl -sS --fail-with-body ")}\ntrue`], {
      cwd: dir,
      env,
      timeout: 90_000,
    });
    const seenAgain = service.received.slice(before.seen + expected.length).map((r) => `${r.method} ${r.url}`);
    expect(seenAgain.filter((r) => r === "GET /hello").length).toBeGreaterThanOrEqual(2);
    expect(seenAgain).toContain("POST /hooks/stripe");
    expect(await credentials()).toBe(before.credentials + 4);
    expect(again.stderr).toMatch(/impgate: \.impgate\/caller\.jwk exists/);
    expect(again.stderr).toMatch(/impgate: \.impgate\/totp\.json exists; it holds credential totp_/);
  }, 180_000);

  it("rotating the URL with the CLI kills the old one at once", async () => {
    const r = await cli("imp", "rotate-url", imp.impId, "--json");
    const { agentUrl } = JSON.parse(r.stdout) as { agentUrl: string };
    expect((await request(`${imp.agentUrl}/x`, { ca: system.pki.caPem })).status).toBe(404);
    expect((await request(`${agentUrl}/x`, { ca: system.pki.caPem })).status).toBe(401);
    const audit = await cli("audit", imp.impId, "--limit", "3");
    // Newest first: the 401 just above, then the rotation.
    expect(audit.stdout.split("\n").slice(0, 2).join("\n")).toMatch(/auth_failed[\s\S]*url_rotated/);
    imp = { ...imp, agentUrl };
  });
});
