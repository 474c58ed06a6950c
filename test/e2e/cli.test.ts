/**
 * The `impgate` CLI as a user meets it: a process run from a folder outside the repository,
 * with a fresh config directory, against the real local edge.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { type CliResult, impgate } from "../helpers/cli.ts";
import { Daemon } from "../helpers/daemon.ts";
import { useSystem } from "../helpers/e2e.ts";

describe("impgate CLI against the real edge", () => {
  const e2e = useSystem();

  /** A user: a working folder outside the repository and a config directory of their own. */
  async function newUser() {
    const root = await mkdtemp(join(e2e.system.dir, "user-"));
    const config = join(root, "config");
    const cwd = join(root, "work");
    await mkdir(cwd);
    return {
      config,
      cwd,
      run: (args: string[], env: Record<string, string> = {}, dir = cwd): Promise<CliResult> =>
        impgate(args, { XDG_CONFIG_HOME: config, ...env }, dir),
      login: (...extra: string[]) =>
        impgate(
          [
            "login",
            "--edge",
            e2e.system.edge.origin,
            "--admin-secret",
            e2e.system.secrets.ADMIN_SECRET,
            "--ca",
            e2e.system.pki.caFile,
            ...extra,
          ],
          { XDG_CONFIG_HOME: config },
          cwd,
        ),
    };
  }

  it("login saves a profile (0700/0600, the CA copied in) that works from any folder, as the current one", async () => {
    const user = await newUser();
    const login = await user.login("--profile", "dev");
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/^logged in to https:\/\/localhost:\d+ as profile "dev"/);
    const dir = join(user.config, "impgate", "profiles", "dev");
    expect((await stat(join(user.config, "impgate"))).mode & 0o777).toBe(0o700);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of ["profile.json", "ca.pem", "device-ca.pem"]) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, "ca.pem"), "utf8")).toBe(e2e.system.pki.caPem);

    // Another folder, no flags: the current profile, its CA for TLS, its device trust for the config.
    const elsewhere = join(user.cwd, "somewhere", "else");
    await mkdir(elsewhere, { recursive: true });
    const created = await user.run(["imp", "create", "--label", "anywhere", "--json"], {}, elsewhere);
    expect(created.code, created.stderr).toBe(0);
    const { impId, agentUrl, deviceConfig } = JSON.parse(created.stdout) as { impId: string; agentUrl: string; deviceConfig: string };
    expect(deviceConfig).toBe(".impgate/device-anywhere.json");
    expect((await stat(join(elsewhere, deviceConfig))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(elsewhere, ".impgate", ".gitignore"), "utf8")).toBe("*\n");

    const shown = await user.run(["imp", "show", impId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`agent URL:  ${agentUrl}`);
  });

  it("a wrong login is refused and saves nothing", async () => {
    const user = await newUser();
    const r = await user.run(["login", "--edge", e2e.system.edge.origin, "--admin-secret", "wrong", "--ca", e2e.system.pki.caFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("impgate: edge refused (401): Admin credentials required\n");
    expect((await user.run(["profile", "list"])).stdout).toMatch(/^no profiles/);
  });

  it("chooses the profile: --profile, then IMPGATE_PROFILE, then ./.impgate/admin.json, then the current one", async () => {
    const user = await newUser();
    expect((await user.login("--profile", "good")).code).toBe(0);
    // A second profile for the same edge with a wrong secret: whichever is chosen shows in the answer.
    const good = JSON.parse(await readFile(join(user.config, "impgate", "profiles", "good", "profile.json"), "utf8"));
    const badDir = join(user.config, "impgate", "profiles", "bad");
    await mkdir(badDir, { recursive: true });
    await writeFile(join(badDir, "profile.json"), JSON.stringify({ ...good, caFiles: [e2e.system.pki.caFile], adminSecret: "wrong" }));
    const imp = await e2e.imp("profiles");
    const works = (r: CliResult) => (r.code === 0 ? "good" : /401/.test(r.stderr) ? "bad" : r.stderr);

    expect(works(await user.run(["imp", "show", imp.impId]))).toBe("good"); // current: the last login
    expect(works(await user.run(["imp", "show", imp.impId, "--profile", "bad"]))).toBe("bad");
    expect(works(await user.run(["imp", "show", imp.impId], { IMPGATE_PROFILE: "bad" }))).toBe("bad");
    expect((await user.run(["profile", "use", "bad"])).code).toBe(0);
    expect(works(await user.run(["imp", "show", imp.impId]))).toBe("bad");
    expect(works(await user.run(["imp", "show", imp.impId, "--profile", "good"]))).toBe("good");
    // A project-local file overrides the current profile in its folder only.
    await mkdir(join(user.cwd, ".impgate"));
    await writeFile(join(user.cwd, ".impgate", "admin.json"), JSON.stringify({ ...good, caFiles: [e2e.system.pki.caFile] }));
    expect(works(await user.run(["imp", "show", imp.impId]))).toBe("good");
    expect((await user.run(["profile", "list"])).stdout).toMatch(/^\* bad[\s\S]*\.impgate\/admin\.json is used instead/m);
    // The environment still works on its own.
    const env = {
      IMPGATE_EDGE: e2e.system.edge.origin,
      IMPGATE_ADMIN_SECRET: e2e.system.secrets.ADMIN_SECRET,
      IMPGATE_CA: e2e.system.pki.caFile,
    };
    expect(works(await (await newUser()).run(["imp", "show", imp.impId], env))).toBe("good");
    // An unknown name says which exist and how to make it.
    const missing = await user.run(["imp", "show", imp.impId, "--profile", "prod"]);
    expect(missing.stderr).toBe(
      'impgate: no profile "prod" (there are: bad, good); make it with: impgate login --profile prod --edge URL --admin-secret S [--ca ca.pem]\n',
    );
  });

  it("says how to configure the edge when nothing is configured", async () => {
    const r = await (await newUser()).run(["imp", "show", "imp_x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^impgate: no edge configured: run `impgate login --edge URL --admin-secret S/);
  });

  it("refuses to talk to the admin API over plain HTTP", async () => {
    const r = await impgate(["imp", "show", "x", "--edge", e2e.system.edge.origin.replace("https", "http"), "--admin-secret", "s"]);
    expect(r.stderr).toMatch(/refusing to send credentials over http:/);
  });

  it("a TLS failure says to pass --ca, naming the CA that was tried", async () => {
    const user = await newUser();
    const imp = await e2e.imp("tls");
    const noCa = await user.run([
      "imp",
      "show",
      imp.impId,
      "--edge",
      e2e.system.edge.origin,
      "--admin-secret",
      e2e.system.secrets.ADMIN_SECRET,
    ]);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toMatch(
      /^impgate: cannot verify https:\/\/localhost:\d+ \(\w+\): its certificate is not from a CA this machine trusts; pass --ca/,
    );
    expect(noCa.stderr.trim().split("\n")).toHaveLength(1);
    // A profile whose CA did not issue the edge's certificate is named, with its CA file.
    expect((await user.login("--profile", "other")).code).toBe(0);
    const caCopy = join(user.config, "impgate", "profiles", "other", "ca.pem");
    await writeFile(caCopy, await readFile(e2e.system.pki.backupCaFile, "utf8"));
    expect((await user.run(["caller", "keygen", "--out", "k.jwk"])).code).toBe(0);
    const tls = await user.run(["token", imp.agentUrl, "--key", "k.jwk"]);
    expect(tls.stderr).toMatch(
      new RegExp(
        `^impgate: cannot verify ${e2e.system.edge.origin} \\(\\w+\\): its certificate is not from the CA of profile "other" \\(${caCopy}\\); pass --ca with the CA that issued it, or run \`impgate login\` again with the right --ca\n$`,
      ),
    );
  });

  it("an unknown or misspelled option is an error, and nothing is applied", async () => {
    const imp = await e2e.imp("typo");
    const r = await impgate(["imp", "set", imp.impId, "--public", "--request-timout", "500", "--profile", e2e.system.profile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "impgate: imp set: unknown option '--request-timout' (did you mean --request-timeout?); see `impgate imp set --help`\n".replace(
        "'--request-timeout'",
        "'--request-timout'",
      ),
    );
    const shown = JSON.parse((await impgate(["imp", "show", imp.impId, "--json", "--profile", e2e.system.profile])).stdout);
    expect(shown).toMatchObject({ public: false, requestTimeoutMs: 30_000 });
  });

  it("creates an imp, writes its config 0600 and prints an impgate-device line that works as printed", async () => {
    const user = await newUser();
    expect((await user.login()).code).toBe(0);
    const r = await user.run(["imp", "create", "--label", "garage"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/agent URL: +https:\/\/localhost:\d+\/agent\/\S+/);
    const line = /run the device: (impgate-device --config (\S+) --forward http:\/\/127\.0\.0\.1:8080)$/m.exec(r.stdout);
    expect(line?.[2]).toBe(join(user.cwd, ".impgate", "device-garage.json"));
    const config = JSON.parse(await readFile(line?.[2] ?? "", "utf8"));
    expect(config.deviceKey.d).toBeTruthy();
    expect(config.tls.ca).toEqual([e2e.system.pki.caPem]);
    // The printed line, run as printed from another folder with impgate-device on the PATH: the device connects.
    const bin = join(user.cwd, "bin");
    await mkdir(bin);
    await symlink(join(PROJECT_ROOT, "bin", "impgate-device.js"), join(bin, "impgate-device"));
    const daemon = new Daemon(
      spawn("bash", ["-c", `exec ${line?.[1]}`], {
        cwd: e2e.system.dir,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}` },
      }),
    );
    e2e.defer(() => daemon.stop());
    await daemon.waitReady(20_000);
    await daemon.stop();
    // Again with the same file: refused before any imp is made.
    const again = await user.run(["imp", "create", "--label", "garage"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("impgate: .impgate/device-garage.json exists; pass --out for another file (or --force to overwrite it)\n");
  });

  it("refuses `cred add --out F` before making a credential when F exists, naming the one it holds", async () => {
    const user = await newUser();
    expect((await user.login()).code).toBe(0);
    const imp = await e2e.imp("creds");
    const first = await user.run(["cred", "add", imp.impId, "--kind", "totp", "--out", ".impgate/totp.json", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const credId = JSON.parse(first.stdout).credential.id as string;
    const again = await user.run(["cred", "add", imp.impId, "--kind", "totp", "--out", ".impgate/totp.json"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `impgate: .impgate/totp.json exists; it holds credential ${credId}, which still works: keep using it, or revoke it (impgate cred revoke ${imp.impId} ${credId}), delete the file and run this again\n`,
    );
    const list = await user.run(["cred", "list", imp.impId, "--json"]);
    expect(JSON.parse(list.stdout).credentials).toHaveLength(1);
    // A refused add removes its claim on the file.
    const refused = await user.run(["cred", "add", "imp_nope", "--kind", "totp", "--out", ".impgate/other.json"]);
    expect(refused.code).toBe(1);
    await expect(stat(join(user.cwd, ".impgate", "other.json"))).rejects.toThrow();
  });

  it("names the file the user gave when a deploy is refused for a syntax error", async () => {
    const imp = await e2e.imp("deploy");
    const file = join(e2e.system.dir, "door.js");
    await writeFile(file, "export default {\n  fetch() { return new Response('x') }\n}}\n");
    const r = await impgate(["agent", "deploy", imp.impId, file, "--profile", e2e.system.profile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^impgate: ${file} was not deployed: SyntaxError[^\\n]*${file}:3`));
    expect(r.stderr).not.toMatch(/\bagent\.js/);
  });

  it("hints at the imp id when given an agent URL, and at the agent URL when given an imp id", async () => {
    const imp = await e2e.imp("hints");
    const p = ["--profile", e2e.system.profile];
    const url = await impgate(["imp", "show", imp.agentUrl, ...p]);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/^impgate: https:\/\/\S+ is an agent URL, not an imp id: `impgate imp show` takes the imp id \(imp_…\)/);
    const agentId = imp.agentUrl.split("/agent/")[1] ?? "";
    expect((await impgate(["audit", agentId, ...p])).stderr).toMatch(/is an agent id, not an imp id: `impgate audit` takes/);
    expect((await impgate(["cred", "list", "agt_Q2xpZW50SWQ", ...p])).stderr).toMatch(/is an agent id, not an imp id/);
    const token = await impgate(["token", imp.impId, "--key", "x.jwk", ...p]);
    expect(token.stderr).toBe(
      `impgate: ${imp.impId} is an imp id: \`impgate token\` takes the agent URL (https://…/agent/…); \`impgate imp show ${imp.impId}\` prints it\n`,
    );
  });
});
