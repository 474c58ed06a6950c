/** Revoking or replacing a device key drops the live socket at once; the old key cannot come back. */

import { exportJWK, generateKeyPair } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { CloseCode, signDeviceProof } from "../../protocol/index.ts";
import { admin, callerFetch, createImp, TestDevice, within } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

describe("device keys", () => {
  it("revoking closes the live socket at once, fails its pending request with 502, and refuses reconnects", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const pending = callerFetch(imp, "/slow");
    await within(
      3000,
      (async () => {
        while (device.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    expect((await admin(`/imps/${imp.impId}/device-key`, { method: "DELETE" })).status).toBe(200);
    expect((await within(2000, device.closed)).code).toBe(CloseCode.deviceRevoked);
    expect((await within(2000, pending)).status).toBe(502);
    const again = await TestDevice.open(imp.impId);
    devices.push(again);
    expect((await within(2000, again.closed)).code).toBe(CloseCode.deviceRevoked);
    expect((await callerFetch(imp, "/x")).status).toBe(503);
  });

  it("replacing the key drops a device on the old key and admits one with the new key", async () => {
    const imp = await createImp();
    const old = await TestDevice.connect(imp);
    devices.push(old);
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const res = await admin(`/imps/${imp.impId}/device-key`, {
      method: "PUT",
      body: JSON.stringify({ devicePublicJwk: await exportJWK(publicKey) }),
    });
    expect(res.status).toBe(200);
    expect((await within(2000, old.closed)).code).toBe(CloseCode.deviceRevoked);
    const stale = await TestDevice.open(imp.impId);
    devices.push(stale);
    const challenge = await stale.challenge();
    await stale.hello(await signDeviceProof(imp.deviceKey, "EdDSA", { impId: imp.impId, nonce: challenge.nonce }));
    expect((await within(2000, stale.closed)).code).toBe(CloseCode.badDeviceProof);
    const fresh = await TestDevice.connect({ ...imp, deviceKey: privateKey });
    devices.push(fresh);
    fresh.serve(() => ({ status: 200, body: "new device" }));
    expect(await (await callerFetch(imp, "/x")).text()).toBe("new device");
  });
});
