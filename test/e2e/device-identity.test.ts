import { readFile, writeFile } from "node:fs/promises";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../../protocol/index.ts";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { callerAuth, createImp, request, type System, startDaemon, startSystem } from "../helpers/system.ts";

describe("device identity, end to end", () => {
  let system: System;
  let service: LocalService;
  beforeAll(async () => {
    system = await startSystem();
    service = await startLocalService();
  });
  afterAll(async () => {
    await service?.close();
    await system?.stop();
  });

  it("refuses a daemon holding the wrong device key, and no request reaches it", async () => {
    const imp = await createImp(system, "wrongkey");
    const config = JSON.parse(await readFile(imp.config, "utf8")) as Record<string, unknown>;
    config.deviceKey = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
    await writeFile(imp.config, JSON.stringify(config));
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      const refused = await daemon.waitFor((l) => l.msg === "edge refused this device");
      expect(refused.code).toBe(CloseCode.badDeviceProof);
      const res = await request(`${imp.agentUrl}/x`, { ca: system.pki.caPem, headers: await callerAuth(system, imp) });
      expect(res.status).toBe(503);
      expect(service.received).toHaveLength(0);
      expect(daemon.count("ready")).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  it("a config that is not valid gets one readable line and exit code 2", async () => {
    const imp = await createImp(system, "badconfig");
    const config = JSON.parse(await readFile(imp.config, "utf8")) as Record<string, unknown>;
    config.edgeUrl = "http://localhost:1";
    await writeFile(imp.config, JSON.stringify(config));
    const daemon = startDaemon(imp.config);
    let stderr = "";
    daemon.child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => daemon.child.once("exit", (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^impgate-device: .*edgeUrl: edgeUrl must be https:\/\/$/);
  });
});
