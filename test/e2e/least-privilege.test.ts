/**
 * Least privilege end to end, with the CLI as a process, the real edge and a real daemon:
 * credentials made with `--scope`, `--expires`, `--rate`, `--from`, shown by `cred list`,
 * changed by `cred set`; DPoP-bound tokens from `impgate token` and `impgate call`, with curl;
 * RFC 9421 signing with `impgate call --sign-key`. Each refusal is asserted from the
 * attacker's side: the refusal, and nothing at the local service.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { impgate } from "../helpers/cli.ts";
import { type Device, useSystem } from "../helpers/e2e.ts";

const run = promisify(execFile);

describe("least privilege, end to end", () => {
  const e2e = useSystem();
  const cli = e2e.cli;
  let device: Device;
  let n = 0;
  beforeAll(async () => {
    device = await e2e.device("least-privilege", { service: (req, res) => res.end(`device saw ${req.method} ${req.url}`), caller: false });
  });

  /** A new caller key pair in the system's folder: [private, public]. */
  async function keypair(): Promise<[string, string]> {
    const key = join(e2e.system.dir, `lp-${++n}.jwk`);
    expect((await impgate(["caller", "keygen", "--out", key])).code).toBe(0);
    return [key, key.replace(/\.jwk$/, ".pub.jwk")];
  }

  /** What the local service saw from now on, as "METHOD /path". */
  function watch(): () => string[] {
    const from = device.service.received.length;
    return () => device.service.received.slice(from).map((r) => `${r.method} ${r.url}`);
  }

  it("cred add takes scope, expiry, rate and ranges; cred list shows them; cred set changes them, audited", async () => {
    const add = await cli(
      "cred",
      "add",
      device.imp.impId,
      "--kind",
      "webhook",
      "--format",
      "github",
      "--label",
      "ci",
      "--scope",
      "POST /hooks/github",
      "--scope",
      "events:read",
      "--expires",
      "90d",
      "--rate",
      "30/m",
      "--from",
      "203.0.113.0/24",
      "--out",
      join(e2e.system.dir, "ci.json"),
    );
    expect(add.code, add.stderr).toBe(0);
    const id = /added webhook credential (\S+) \(ci\)/.exec(add.stdout)?.[1] ?? "";
    expect(add.stdout).toMatch(
      /scope: POST \/hooks\/github, events:read {2}expires \d{4}-\d\d-\d\dT[\d:]+Z {2}rate 30\/m {2}from 203\.0\.113\.0\/24/,
    );
    const line = (await cli("cred", "list", device.imp.impId)).stdout.split("\n").find((l) => l.startsWith(id)) ?? "";
    expect(line).toMatch(
      /webhook\/github {2}ci {2}active {2}scope: POST \/hooks\/github, events:read {2}expires .* {2}rate 30\/m {2}from 203\.0\.113\.0\/24/,
    );
    const set = await cli(
      "cred",
      "set",
      device.imp.impId,
      id,
      "--scope",
      "POST /hooks/github",
      "--expires",
      "never",
      "--rate",
      "none",
      "--from",
      "anywhere",
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/active {2}scope: POST \/hooks\/github$/m);
    expect((await cli("audit", device.imp.impId, "--limit", "5")).stdout).toMatch(/credential_changed/);

    // A mistyped constraint is one line, exit 2, before anything is sent.
    for (const [args, message] of [
      [["--scope", "post /hooks"], /--scope "post \/hooks": methods are upper case \(POST\)/],
      [["--expires", "6m"], /--expires "6m": give hours, days or weeks/],
      [["--rate", "60"], /--rate "60": expected <count>\/<s\|m\|h\|d>/],
      [["--from", "203.0.113.5/24"], /did you mean 203\.0\.113\.0\/24\?/],
    ] as const) {
      const r = await cli("cred", "add", device.imp.impId, "--kind", "totp", ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("a jwt credential's tokens are DPoP-bound: impgate call and curl work, a stolen token or proof does not", async () => {
    const [key, pub] = await keypair();
    expect(
      (await cli("cred", "add", device.imp.impId, "--kind", "jwt", "--public-key", pub, "--scope", "GET /hello", "--scope", "POST /door"))
        .code,
    ).toBe(0);
    const seen = watch();
    const call = await cli("call", `${device.imp.agentUrl}/hello`, "--key", key);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toBe("device saw GET /hello");

    // curl with the headers `impgate token --dpop-proof` prints, as the README shows.
    const url = `${device.imp.agentUrl}/door`;
    const headers = join(e2e.system.dir, `proof-${n}.txt`);
    const token = await cli("token", device.imp.agentUrl, "--key", key, "--dpop-proof", `POST ${url}`);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^Authorization: DPoP \S+\nDPoP: \S+\n$/);
    await writeFile(headers, token.stdout);
    const curl = (file: string) =>
      run(
        "curl",
        [
          "-sS",
          "--cacert",
          e2e.system.pki.caFile,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code} %header{www-authenticate}",
          "-X",
          "POST",
          "-H",
          `@${file}`,
          url,
        ],
        { timeout: 30_000 },
      );
    expect((await curl(headers)).stdout).toBe("200 ");
    expect(seen()).toEqual(["GET /hello", "POST /door"]);

    // Whoever saw those headers can neither replay them, nor use the token as Bearer, nor elsewhere.
    expect((await curl(headers)).stdout).toMatch(/^401 DPoP realm="impgate", error="invalid_dpop_proof"/);
    const stolen = /^Authorization: DPoP (\S+)/.exec(token.stdout)?.[1] ?? "";
    const asBearer = await e2e.request(url, { method: "POST", headers: { authorization: `Bearer ${stolen}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers["www-authenticate"]).toMatch(/^DPoP realm="impgate", error="invalid_token"/);
    const plain = await cli("token", device.imp.agentUrl, "--key", key, "--no-dpop");
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/token refused \(401\)/);
    expect(seen()).toEqual(["GET /hello", "POST /door"]);
  });

  it("a scope holds through the CLI: outside it the edge answers 403 insufficient_scope; a token may ask for less", async () => {
    const [key, pub] = await keypair();
    expect((await cli("cred", "add", device.imp.impId, "--kind", "jwt", "--public-key", pub, "--scope", "* /status/**")).code).toBe(0);
    const seen = watch();
    for (const path of ["/admin", "/status/../admin", "/status/..%2Fadmin", "/_state"]) {
      const r = await cli("call", `${device.imp.agentUrl}${path}`, "--key", key);
      expect(r.code, path).toBe(1);
      expect(r.stderr).toBe("impgate: edge answered 403 (insufficient_scope)\n");
    }
    const narrow = await cli("call", `${device.imp.agentUrl}/status/a`, "--key", key, "--scope", "GET /status/a", "-X", "DELETE");
    expect(narrow.stderr).toBe("impgate: edge answered 403 (insufficient_scope)\n");
    const wider = await cli("call", `${device.imp.agentUrl}/status/a`, "--key", key, "--scope", "GET /**");
    expect(wider.stderr).toMatch(/token refused \(400\): not within the credential's scope: GET \/\*\*/);
    expect(seen()).toEqual([]);
    expect((await cli("call", `${device.imp.agentUrl}/status/a`, "--key", key, "--scope", "GET /status/a")).stdout).toBe(
      "device saw GET /status/a",
    );
  });

  it("impgate call --sign-key signs with RFC 9421; the same signed request sent again is refused", async () => {
    const [key, pub] = await keypair();
    expect(
      (await cli("cred", "add", device.imp.impId, "--kind", "http-signature", "--public-key", pub, "--scope", "POST /hooks/build")).code,
    ).toBe(0);
    const seen = watch();
    const r = await cli("call", `${device.imp.agentUrl}/hooks/build`, "-d", '{"ref":"main"}', "--sign-key", key);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("device saw POST /hooks/build");
    // The device saw the signature: replayed from there (or by anyone on the way), it is refused.
    const got = device.service.received.at(-1);
    const replay = await e2e.request(`${device.imp.agentUrl}/hooks/build`, {
      method: "POST",
      headers: Object.fromEntries(
        ["signature", "signature-input", "content-digest", "content-type"].map((h) => [h, String(got?.headers[h])]),
      ),
      body: got?.body,
    });
    expect(replay.status).toBe(401);
    const other = await cli("call", `${device.imp.agentUrl}/hooks/other`, "-d", "x", "--sign-key", key);
    expect(other.stderr).toBe("impgate: edge answered 403 (insufficient_scope)\n");
    expect(seen()).toEqual(["POST /hooks/build"]);
  });

  it("a credential's rate and address ranges hold through the CLI", async () => {
    const [key, pub] = await keypair();
    const add = await cli("cred", "add", device.imp.impId, "--kind", "jwt", "--public-key", pub, "--rate", "2/m", "--json");
    const id = (JSON.parse(add.stdout) as { credential: { id: string } }).credential.id;
    const seen = watch();
    for (let i = 0; i < 2; i++) expect((await cli("call", `${device.imp.agentUrl}/r`, "--key", key)).code).toBe(0);
    const third = await cli("call", `${device.imp.agentUrl}/r`, "--key", key);
    expect(third.code).toBe(1);
    expect(third.stderr).toBe("impgate: edge answered 429\n");
    expect(seen()).toEqual(["GET /r", "GET /r"]);
    expect((await cli("cred", "set", device.imp.impId, id, "--rate", "none", "--from", "203.0.113.0/24")).code).toBe(0);
    const outside = await cli("call", `${device.imp.agentUrl}/r`, "--key", key);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/token refused \(401\)/);
    expect(seen()).toEqual(["GET /r", "GET /r"]);
    expect((await cli("audit", device.imp.impId, "--limit", "3")).stdout).toMatch(/address_not_allowed/);
    expect((await cli("cred", "set", device.imp.impId, id, "--from", "anywhere")).code).toBe(0);
    expect((await cli("call", `${device.imp.agentUrl}/r`, "--key", key)).code).toBe(0);
  });
});
