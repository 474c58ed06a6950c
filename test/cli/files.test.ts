/**
 * Files the CLI writes on the admin's or caller's machine, as a process in a folder
 * outside the repository: keys and secrets are 0600, never silently replaced, and land in
 * a folder git ignores.
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { impgate } from "../helpers/cli.ts";

let cwd: string;
const cli = (...args: string[]) => impgate(args, { XDG_CONFIG_HOME: join(cwd, "config") }, cwd);

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "impgate-files-"));
});
afterEach(() => rm(cwd, { recursive: true, force: true }));

describe("key and secret files", () => {
  it("caller keygen writes the key pair 0600 into .impgate/ (ignored by git), and refuses to overwrite it", async () => {
    const first = await cli("caller", "keygen");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("impgate cred add <imp> --kind jwt --public-key .impgate/caller.pub.jwk");
    const key = join(cwd, ".impgate", "caller.jwk");
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect((await stat(join(cwd, ".impgate"))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(cwd, ".impgate", ".gitignore"), "utf8")).toBe("*\n");
    const before = await readFile(key, "utf8");

    const again = await cli("caller", "keygen");
    expect(again).toMatchObject({
      code: 1,
      stderr:
        "impgate: .impgate/caller.jwk exists; a credential may have been made from it: pass --out for another key, or --force to replace it\n",
    });
    expect(await readFile(key, "utf8")).toBe(before);
    // The public half alone existing is refused too, before the private key is written.
    await writeFile(join(cwd, "other.pub.jwk"), "{}");
    expect((await cli("caller", "keygen", "--out", "other.jwk")).stderr).toMatch(/^impgate: other\.pub\.jwk exists;/);
    await expect(stat(join(cwd, "other.jwk"))).rejects.toThrow();

    expect((await cli("caller", "keygen", "--force")).code).toBe(0);
    expect(await readFile(key, "utf8")).not.toBe(before);
  });

  it("agent init DIR makes DIR, and refuses to overwrite", async () => {
    const r = await cli("agent", "init", "agents/garage", "--example", "garage-door");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("deploy it: impgate agent deploy <imp> agents/garage/agent.js");
    expect(await readFile(join(cwd, "agents", "garage", "agent.js"), "utf8")).toContain("/open");
    await stat(join(cwd, "agents", "garage", "impgate-agent.d.ts"));
    expect((await cli("agent", "init", "agents/garage")).stderr).toBe(
      "impgate: agents/garage/agent.js exists (pass --force to overwrite)\n",
    );
    expect((await cli("agent", "init", "x", "--example", "toaster")).stderr).toBe(
      'impgate: no example "toaster" (there are: garage-door)\n',
    );
  });
});

describe("impgate edge init", () => {
  /** A stand-in for wrangler that records each call and the value it read on stdin. */
  async function fakeWrangler(): Promise<{ env: Record<string, string>; calls: () => Promise<{ args: string[]; value: string }[]> }> {
    const log = join(cwd, "wrangler-calls.jsonl");
    const script = join(cwd, "fake-wrangler.mjs");
    await writeFile(
      script,
      `#!/usr/bin/env node
import { appendFileSync, readFileSync } from "node:fs";
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args: process.argv.slice(2), value: readFileSync(0, "utf8") }) + "\\n");`,
    );
    await chmod(script, 0o755);
    return {
      env: { IMPGATE_WRANGLER: `${process.execPath} ${script}` },
      calls: async () =>
        (await readFile(log, "utf8"))
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
    };
  }

  it("makes the three secrets in a 0600 file, puts each on wrangler's stdin, and reuses them when run again", async () => {
    const wrangler = await fakeWrangler();
    const run = (...args: string[]) => impgate(["edge", "init", ...args], { XDG_CONFIG_HOME: join(cwd, "config"), ...wrangler.env }, cwd);
    const first = await run("--put", "--env", "staging");
    expect(first.code, first.stderr).toBe(0);
    const file = join(cwd, ".impgate", "edge-secrets.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
    expect(Object.keys(secrets)).toEqual(["ADMIN_SECRET", "AGENT_ID_KEY", "EDGE_SIGNING_JWK"]);
    expect(JSON.parse(secrets.EDGE_SIGNING_JWK ?? "")).toMatchObject({ kty: "OKP", crv: "Ed25519", d: expect.any(String) });
    const calls = await wrangler.calls();
    expect(calls.map((c) => c.args.slice(0, 3))).toEqual([
      ["secret", "put", "ADMIN_SECRET"],
      ["secret", "put", "AGENT_ID_KEY"],
      ["secret", "put", "EDGE_SIGNING_JWK"],
    ]);
    expect(calls.map((c) => c.value)).toEqual([secrets.ADMIN_SECRET, secrets.AGENT_ID_KEY, secrets.EDGE_SIGNING_JWK]);
    expect(calls[0]?.args).toEqual(expect.arrayContaining(["--env", "staging", "--config"]));
    // Never on a command line, never in the output.
    for (const value of Object.values(secrets)) {
      expect(calls.flatMap((c) => c.args).join(" ")).not.toContain(value);
      expect(first.stdout).not.toContain(value);
    }

    // Again: the same secrets (a new AGENT_ID_KEY would invalidate every imp id), and the lines to run by hand.
    const again = await run();
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(secrets);
    expect(again.stdout).toMatch(/^using the edge secrets in .*edge-secrets\.json \(made earlier; kept/);
    expect(again.stdout).toContain(`| npx wrangler secret put AGENT_ID_KEY --config `);
  });
});
