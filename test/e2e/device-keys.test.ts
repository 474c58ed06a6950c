/**
 * The device key, as its owner meets it: `impgate-device keygen` and the `imp create`
 * line it prints, run as printed from a folder outside the repository; and a new key for
 * a provisioned device with `impgate-device rekey` and the `replace-device` line it
 * prints, with the daemon never left unable to connect.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { callerRequest, createImp, type Daemon, type System, startDaemon, startSystem } from "../helpers/system.ts";

const execFileP = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `impgate` or `impgate-device` from `cwd`, as a user there would. */
async function run(cwd: string, bin: "impgate" | "impgate-device", args: string[]): Promise<Run> {
  try {
    const r = await execFileP(process.execPath, [join(PROJECT_ROOT, "bin", `${bin}.js`), ...args], { cwd, timeout: 30_000 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** The command line a tool printed for the user to run next, as arguments. */
function printedCommand(stdout: string, start: string): string[] {
  const line = stdout.split("\n").find((l) => l.trim().startsWith(start));
  if (!line) throw new Error(`no "${start}" line in:\n${stdout}`);
  return line.trim().split(/\s+/).slice(1);
}

describe("device keys, end to end", () => {
  let system: System;
  let service: LocalService;
  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService((_req, res) => res.end("ok"));
  });
  afterAll(async () => {
    await service?.close();
    await system?.stop();
  });

  it("keygen writes a key pair and prints the `imp create` line, which works as printed", async () => {
    const home = join(system.dir, "keygen-home");
    await mkdir(home);
    const made = await run(home, "impgate-device", ["keygen", "--out", "device-key.jwk"]);
    expect(made.code).toBe(0);
    expect((await stat(join(home, "device-key.jwk"))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(home, "device-key.pub.jwk"), "utf8"))).not.toHaveProperty("d");
    const create = printedCommand(made.stdout, "impgate imp create");
    expect(create).toEqual(["imp", "create", "--public-key", "device-key.pub.jwk", "--out", "device.json"]);

    const created = await run(home, "impgate", [...create, "--profile", system.profile]);
    expect(created.code).toBe(0);
    const daemon = startDaemon(join(home, "device.json"));
    try {
      await daemon.waitReady();
    } finally {
      await daemon.stop();
    }

    // Run again: one clear line, exit 2, and the keys untouched.
    const before = await readFile(join(home, "device-key.jwk"), "utf8");
    const again = await run(home, "impgate-device", ["keygen", "--out", "device-key.jwk"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe("impgate-device: device-key.jwk already exists; keygen never overwrites a key (remove it, or use --out)\n");
    expect(await readFile(join(home, "device-key.jwk"), "utf8")).toBe(before);
  });

  async function hello(imp: { impId: string; agentUrl: string; config: string }): Promise<number> {
    return (await callerRequest(system, imp, "/hello")).status;
  }

  it("rekey while the daemon runs: it keeps serving on the old key, then switches by itself after replace-device", async () => {
    const imp = await createImp(system, "rekey-live");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      const rekeyed = await run(system.dir, "impgate-device", ["rekey", "--config", imp.config]);
      expect(rekeyed.code).toBe(0);
      const replace = printedCommand(rekeyed.stdout, "impgate imp replace-device");
      expect(replace.slice(0, 3)).toEqual(["imp", "replace-device", imp.impId]);
      expect(await hello(imp)).toBe(200);

      expect((await run(system.dir, "impgate", [...replace, "--profile", system.profile])).code).toBe(0);
      await daemon.waitFor((l) => String(l.msg).startsWith("the edge accepted the new device key; the previous key was removed"));
      await daemon.waitReady(15_000, 1);
      expect(await hello(imp)).toBe(200);
      expect(JSON.parse(await readFile(imp.config, "utf8"))).not.toHaveProperty("previousDeviceKey");
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      await daemon.stop();
    }
  });

  it("rekey, then a restart before replace-device: it connects with the previous key and says what to run", async () => {
    const imp = await createImp(system, "rekey-restart");
    expect((await run(system.dir, "impgate-device", ["rekey", "--config", imp.config])).code).toBe(0);
    let daemon: Daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      expect(
        await daemon.waitFor((l) => l.msg === "connected with the previous device key: the edge does not hold the new one yet"),
      ).toMatchObject({ next: expect.stringContaining(`impgate imp replace-device ${imp.impId}`) });
      expect(await hello(imp)).toBe(200);
      // Repeating rekey makes nothing new: the line it prints is still the one to run.
      const again = await run(system.dir, "impgate-device", ["rekey", "--config", imp.config]);
      expect(again.stdout).toMatch(/already waiting/);
      expect(
        (await run(system.dir, "impgate", [...printedCommand(again.stdout, "impgate imp replace-device"), "--profile", system.profile]))
          .code,
      ).toBe(0);
      await daemon.waitReady(15_000, 1);
      expect(await hello(imp)).toBe(200);
      await daemon.stop();
      // A fresh start uses the new key at once, and the old one is gone from the config.
      daemon = startDaemon(imp.config, ["--forward", service.url]);
      await daemon.waitReady();
      expect(daemon.count("connecting")).toBe(1);
      expect(JSON.parse(await readFile(imp.config, "utf8"))).not.toHaveProperty("previousDeviceKey");
    } finally {
      await daemon.stop();
    }
  });
});
