/** The device proves its key: a daemon holding another key is refused and gets nothing; a broken config is one clear line. */
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../protocol/index.ts";
import { useSystem } from "../helpers/e2e.ts";
import { callerAuth } from "../helpers/system.ts";

describe("device identity, end to end", () => {
  const e2e = useSystem();

  it("refuses a daemon holding the wrong device key, and no request reaches it", async () => {
    const service = await e2e.service();
    const imp = await e2e.imp("wrongkey", async (c) => {
      c.deviceKey = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
      return c;
    });
    const daemon = e2e.daemon(imp, ["--forward", service.url]);
    const refused = await daemon.waitFor((l) => l.msg === "edge refused this device");
    expect(refused.code).toBe(CloseCode.badDeviceProof);
    const res = await e2e.request(`${imp.agentUrl}/x`, { headers: await callerAuth(e2e.system, imp) });
    expect(res.status).toBe(503);
    expect(service.received).toHaveLength(0);
    expect(daemon.count("ready")).toBe(0);
  });

  it("a config that is not valid gets one readable line and exit code 2", async () => {
    const imp = await e2e.imp("badconfig", (c) => {
      c.edgeUrl = "http://localhost:1";
    });
    const daemon = e2e.daemon(imp);
    expect(await daemon.exited()).toBe(2);
    expect(daemon.stderr.trim()).toMatch(/^impgate-device: .*edgeUrl: edgeUrl must be https:\/\/$/);
  });
});
