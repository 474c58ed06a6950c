/**
 * Caller authentication end to end: the real CLI, the real edge, the real daemon. Every
 * credential kind reaches the device, and the README's caller lines work as printed.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { impgate } from "../helpers/cli.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";

const run = promisify(execFile);

describe("callers, end to end", () => {
  const e2e = useSystem();
  let device: Device;
  const cli = e2e.cli;
  beforeAll(async () => {
    device = await e2e.device("callers", {
      service: (req, res) => res.end(`device saw ${req.method} ${req.url}`),
      caller: false,
    });
  });

  it("refuses a caller without a credential, and the device sees nothing", async () => {
    const before = device.service.received.length;
    const res = await e2e.request(`${device.imp.agentUrl}/open`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(device.service.received.length).toBe(before);
  });

  it("`impgate call` reaches the device with each kind of credential", async () => {
    const keyFile = join(e2e.system.dir, "caller.jwk");
    expect((await impgate(["caller", "keygen", "--out", keyFile])).code).toBe(0);
    expect((await cli("cred", "add", device.imp.impId, "--kind", "jwt", "--public-key", join(e2e.system.dir, "caller.pub.jwk"))).code).toBe(
      0,
    );
    const files: Record<string, string> = {};
    for (const [kind, extra] of [
      ["jwt-secret", []],
      ["totp", []],
      ["webhook", ["--format", "github"]],
      ["webhook", ["--format", "stripe"]],
      ["webhook", ["--format", "generic"]],
    ] as const) {
      const out = join(e2e.system.dir, `${kind}-${extra[1] ?? "x"}.json`);
      const r = await cli("cred", "add", device.imp.impId, "--kind", kind, ...extra, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/secret: \S+ +\(shown once/);
      files[`${kind}${extra[1] ? `/${extra[1]}` : ""}`] = out;
    }
    const calls: [string, string[]][] = [
      ["jwt", ["--key", keyFile]],
      ...Object.entries(files).map(([name, file]) => [name, ["--cred-file", file]] as [string, string[]]),
    ];
    for (const [name, args] of calls) {
      const r = await cli(
        "call",
        `${device.imp.agentUrl}/door?who=${encodeURIComponent(name)}`,
        "-X",
        "POST",
        "-d",
        `{"via":"${name}"}`,
        ...args,
      );
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe(`device saw POST /door?who=${encodeURIComponent(name)}`);
    }
    const list = await cli("cred", "list", device.imp.impId);
    expect(list.stdout.trim().split("\n")).toHaveLength(6);
  });

  it("the README's caller lines work as printed from any folder, and running them again makes no new credential", async () => {
    const readme = await readFile(join(PROJECT_ROOT, "README.md"), "utf8");
    const block = /<!-- callers:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- callers:end -->/.exec(readme)?.[1];
    expect(block).toBeTruthy();
    // A folder outside the repository, `impgate` on the PATH (as `npm link` puts it), a fresh config directory with a login.
    const dir = join(e2e.system.dir, "readme");
    const bin = join(dir, "bin");
    await mkdir(bin, { recursive: true });
    await symlink(join(PROJECT_ROOT, "bin", "impgate.js"), join(bin, "impgate"));
    const env = {
      ...process.env,
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`,
      XDG_CONFIG_HOME: join(dir, "config"),
      IMP: device.imp.impId,
      AGENT: device.imp.agentUrl,
      CA: join(dir, "config", "impgate", "profiles", "default", "ca.pem"),
    };
    const login = `impgate login --edge ${e2e.system.edge.origin} --admin-secret ${e2e.system.secrets.ADMIN_SECRET} --ca ${e2e.system.pki.caFile}`;
    await run("bash", ["-c", login], { cwd: dir, env, timeout: 30_000 });
    const credentials = async () => (await cli("cred", "list", device.imp.impId)).stdout.trim().split("\n").length;
    const before = { seen: device.service.received.length, credentials: await credentials() };
    const script = `set -euo pipefail\n${block?.replace(/^curl /gm, "curl -sS --fail-with-body ")}`;
    const { stdout } = await run("bash", ["-c", script], { cwd: dir, env, timeout: 90_000 });
    const seen = device.service.received.slice(before.seen).map((r) => `${r.method} ${r.url}`);
    const expected = [
      "GET /hello",
      "GET /hello",
      "POST /hooks/github",
      "POST /hooks/stripe",
      "POST /hooks/build",
      "GET /hello",
      "POST /hooks/github",
    ];
    expect(seen).toEqual(expected);
    expect(stdout).toContain("device saw GET /hello");
    expect(await credentials()).toBe(before.credentials + 5);
    for (const f of ["caller.jwk", "signer.jwk", "totp.json", "github.json", "stripe.json"])
      expect((await stat(join(dir, ".impgate", f))).mode & 0o777).toBe(0o600);

    // Again, as someone re-running the block would: what would make a second key or credential refuses,
    // the key and files of the first run keep working (the same GitHub signature, or the same code within
    // its 30 s, is refused as a replay: by design).
    const again = await run("bash", ["-c", `${block?.replace(/^curl /gm, "curl -sS --fail-with-body ")}\ntrue`], {
      cwd: dir,
      env,
      timeout: 90_000,
    });
    const seenAgain = device.service.received.slice(before.seen + expected.length).map((r) => `${r.method} ${r.url}`);
    expect(seenAgain.filter((r) => r === "GET /hello").length).toBeGreaterThanOrEqual(2);
    expect(seenAgain).toContain("POST /hooks/stripe");
    expect(seenAgain).toContain("POST /hooks/build");
    expect(await credentials()).toBe(before.credentials + 5);
    expect(again.stderr).toMatch(/impgate: \.impgate\/caller\.jwk exists/);
    expect(again.stderr).toMatch(/impgate: \.impgate\/totp\.json exists; it holds credential totp_/);
  }, 180_000);

  it("rotating the URL with the CLI kills the old one at once", async () => {
    const r = await cli("imp", "rotate-url", device.imp.impId, "--json");
    const { agentUrl } = JSON.parse(r.stdout) as { agentUrl: string };
    expect((await e2e.request(`${device.imp.agentUrl}/x`)).status).toBe(404);
    expect((await e2e.request(`${agentUrl}/x`)).status).toBe(401);
    const audit = await cli("audit", device.imp.impId, "--limit", "3");
    // Newest first: the 401 just above, then the rotation.
    expect(audit.stdout.split("\n").slice(0, 2).join("\n")).toMatch(/auth_failed[\s\S]*url_rotated/);
    device.imp = { ...device.imp, agentUrl };
  });
});
