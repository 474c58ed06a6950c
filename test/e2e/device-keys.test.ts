/**
 * The device key, as its owner meets it: `impgate-device keygen` and the `imp create`
 * line it prints, run as printed from a folder outside the repository; and a new key for
 * a provisioned device with `impgate-device rekey` and the `replace-device` line it
 * prints, with the daemon never left unable to connect.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CliResult, impgate } from "../helpers/cli.ts";
import { useSystem } from "../helpers/e2e.ts";
import type { LocalService } from "../helpers/local-service.ts";
import type { CreatedImp } from "../helpers/system.ts";

/** Runs `impgate` or `impgate-device` from `cwd`, as a user there would. */
const run = (cwd: string, bin: "impgate" | "impgate-device", args: string[]): Promise<CliResult> => impgate(args, {}, cwd, bin);

/** The command line a tool printed for the user to run next, as arguments. */
function printedCommand(stdout: string, start: string): string[] {
  const line = stdout.split("\n").find((l) => l.trim().startsWith(start));
  if (!line) throw new Error(`no "${start}" line in:\n${stdout}`);
  return line.trim().split(/\s+/).slice(1);
}

describe("device keys, end to end", () => {
  const e2e = useSystem();
  let service: LocalService;
  beforeAll(async () => {
    service = await e2e.service((_req, res) => res.end("ok"));
  });

  it("keygen writes a key pair and prints the `imp create` line, which works as printed", async () => {
    const home = join(e2e.system.dir, "keygen-home");
    await mkdir(home);
    const made = await run(home, "impgate-device", ["keygen", "--out", "device-key.jwk"]);
    expect(made.code).toBe(0);
    expect((await stat(join(home, "device-key.jwk"))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(home, "device-key.pub.jwk"), "utf8"))).not.toHaveProperty("d");
    const create = printedCommand(made.stdout, "impgate imp create");
    expect(create).toEqual(["imp", "create", "--public-key", "device-key.pub.jwk", "--out", "device.json"]);

    const created = await run(home, "impgate", [...create, "--profile", e2e.system.profile]);
    expect(created.code).toBe(0);
    const daemon = e2e.daemon(join(home, "device.json"));
    await daemon.waitReady();
    await daemon.stop();

    // Run again: one clear line, exit 2, and the keys untouched.
    const before = await readFile(join(home, "device-key.jwk"), "utf8");
    const again = await run(home, "impgate-device", ["keygen", "--out", "device-key.jwk"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe("impgate-device: device-key.jwk already exists; keygen never overwrites a key (remove it, or use --out)\n");
    expect(await readFile(join(home, "device-key.jwk"), "utf8")).toBe(before);
  });

  async function hello(imp: CreatedImp): Promise<number> {
    return (await e2e.call(imp, "/hello")).status;
  }

  it("rekey while the daemon runs: it keeps serving on the old key, then switches by itself after replace-device", async () => {
    const { imp, daemon } = await e2e.device("rekey-live", { service });
    const rekeyed = await run(e2e.system.dir, "impgate-device", ["rekey", "--config", imp.config]);
    expect(rekeyed.code).toBe(0);
    const replace = printedCommand(rekeyed.stdout, "impgate imp replace-device");
    expect(replace.slice(0, 3)).toEqual(["imp", "replace-device", imp.impId]);
    expect(await hello(imp)).toBe(200);

    expect((await run(e2e.system.dir, "impgate", [...replace, "--profile", e2e.system.profile])).code).toBe(0);
    await daemon.waitFor((l) => String(l.msg).startsWith("the edge accepted the new device key; the previous key was removed"));
    await daemon.waitReady(15_000, 1);
    expect(await hello(imp)).toBe(200);
    expect(JSON.parse(await readFile(imp.config, "utf8"))).not.toHaveProperty("previousDeviceKey");
    expect(daemon.child.exitCode).toBeNull();
  });

  it("rekey, then a restart before replace-device: it connects with the previous key and says what to run", async () => {
    const imp = await e2e.imp("rekey-restart");
    expect((await run(e2e.system.dir, "impgate-device", ["rekey", "--config", imp.config])).code).toBe(0);
    let daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    expect(
      await daemon.waitFor((l) => l.msg === "connected with the previous device key: the edge does not hold the new one yet"),
    ).toMatchObject({ next: expect.stringContaining(`impgate imp replace-device ${imp.impId}`) });
    expect(await hello(imp)).toBe(200);
    // Repeating rekey makes nothing new: the line it prints is still the one to run.
    const again = await run(e2e.system.dir, "impgate-device", ["rekey", "--config", imp.config]);
    expect(again.stdout).toMatch(/already waiting/);
    expect(
      (
        await run(e2e.system.dir, "impgate", [
          ...printedCommand(again.stdout, "impgate imp replace-device"),
          "--profile",
          e2e.system.profile,
        ])
      ).code,
    ).toBe(0);
    await daemon.waitReady(15_000, 1);
    expect(await hello(imp)).toBe(200);
    await daemon.stop();
    // A fresh start uses the new key at once, and the old one is gone from the config.
    daemon = e2e.daemon(imp, ["--forward", service.url]);
    await daemon.waitReady();
    expect(daemon.count("connecting")).toBe(1);
    expect(JSON.parse(await readFile(imp.config, "utf8"))).not.toHaveProperty("previousDeviceKey");
  });
});
