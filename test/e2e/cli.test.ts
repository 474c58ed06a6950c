import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { impgate, type System, startSystem } from "../helpers/system.ts";

describe("impgate CLI against the real edge", () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it("refuses `imp create` with a wrong admin secret, in one readable line", async () => {
    const profile = join(system.dir, "wrong.json");
    await writeFile(
      profile,
      JSON.stringify({
        edgeUrl: system.edge.origin,
        adminSecret: "wrong",
        caFiles: [system.pki.caFile],
        deviceTrust: { caFiles: [system.pki.caFile] },
      }),
    );
    const r = await impgate(["imp", "create", "--profile", profile, "--out", join(system.dir, "x.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("impgate: edge refused (401): Admin credentials required\n");
    expect(r.stderr).not.toContain("wrong");
  });

  it("says how to configure the edge when nothing is configured", async () => {
    const r = await impgate(["imp", "create"], { IMPGATE_PROFILE: join(system.dir, "missing.json") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^impgate: no edge configured/);
  });

  it("refuses to talk to the admin API over plain HTTP", async () => {
    const r = await impgate(["imp", "show", "x", "--edge", system.edge.origin.replace("https", "http"), "--admin-secret", "s"]);
    expect(r.stderr).toMatch(/refusing to send credentials over http:/);
  });

  it("explains usage errors with exit code 2", async () => {
    expect((await impgate(["imp", "frobnicate"])).code).toBe(2);
    expect((await impgate(["imp", "show"])).code).toBe(2);
    expect((await impgate(["nonsense"])).code).toBe(2);
  });

  it("creates an imp and writes a device config that holds the private key, mode 0600", async () => {
    const out = join(system.dir, "device.json");
    const r = await impgate(["imp", "create", "--label", "garage", "--out", out, "--profile", system.profile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/agent URL: +https:\/\/localhost:\d+\/agent\/agt_[A-Za-z0-9_-]{64}(?![A-Za-z0-9_-])/);
    const { stat, readFile } = await import("node:fs/promises");
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(out, "utf8"));
    expect(config.deviceKey.d).toBeTruthy();
    expect(config.impId).toMatch(/^imp_[A-Za-z0-9_-]{43}$/);
    expect(config.tls.pins).toHaveLength(2);
    const again = await impgate(["imp", "create", "--out", out, "--profile", system.profile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists \(pass --force/);
  });
});
