import { generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { CloseCode, DEVICE_PROOF_AUDIENCE, DEVICE_PROOF_TYP, encodeFrame, signDeviceProof } from "../../protocol/index.ts";
import { callerFetch, createImp, edgeFetch, TestDevice, type TestImp, within } from "./helpers.ts";

describe("device handshake", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });
  async function open(impId: string) {
    const d = await TestDevice.open(impId);
    devices.push(d);
    return d;
  }
  /** After a refusal, the imp must still be offline: no request can reach the refused socket. */
  async function expectOffline(imp: TestImp, device: TestDevice) {
    expect((await callerFetch(imp, "/x")).status).toBe(503);
    expect(device.requests).toHaveLength(0);
  }

  it("accepts the device key and a signature over this connection's nonce", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    await device.handshake(imp);
    device.serve(() => ({ status: 200, body: "ok" }));
    expect((await callerFetch(imp, "/x")).status).toBe(200);
  });

  it("closes with badDeviceProof when the device signs with the wrong key", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const challenge = await device.challenge();
    await device.hello(await signDeviceProof(privateKey, "EdDSA", { impId: imp.impId, nonce: challenge.nonce }));
    expect((await within(2000, device.closed)).code).toBe(CloseCode.badDeviceProof);
    await expectOffline(imp, device);
  });

  it("closes with wrongImp when a valid device key signs for another imp", async () => {
    const imp = await createImp();
    const other = await createImp();
    const device = await open(other.impId);
    // imp's own key, but connecting as `other`: the key does not match other's.
    const challenge = await device.challenge();
    await device.hello(await signDeviceProof(other.deviceKey, "EdDSA", { impId: imp.impId, nonce: challenge.nonce }));
    expect((await within(2000, device.closed)).code).toBe(CloseCode.wrongImp);
    await expectOffline(other, device);
  });

  it("closes with staleNonce when the proof answers another connection's nonce (replay)", async () => {
    const imp = await createImp();
    const first = await open(imp.impId);
    const firstChallenge = await first.challenge();
    const proof = await signDeviceProof(imp.deviceKey, "EdDSA", { impId: imp.impId, nonce: firstChallenge.nonce });
    await first.hello(proof);
    expect((await first.next()).msg.t).toBe("ready");
    first.close();
    // An eavesdropper replays the captured hello on a new connection.
    const replay = await open(imp.impId);
    await replay.challenge();
    await replay.hello(proof);
    expect((await within(2000, replay.closed)).code).toBe(CloseCode.staleNonce);
    await expectOffline(imp, replay);
  });

  it("closes with staleNonce when the proof is too old", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    const challenge = await device.challenge();
    const old = Math.floor(Date.now() / 1000) - 600;
    const proof = await new SignJWT({ nonce: challenge.nonce })
      .setProtectedHeader({ alg: "EdDSA", typ: DEVICE_PROOF_TYP })
      .setSubject(imp.impId)
      .setAudience(DEVICE_PROOF_AUDIENCE)
      .setIssuedAt(old)
      .setExpirationTime(old + 60)
      .sign(imp.deviceKey);
    await device.hello(proof);
    expect((await within(2000, device.closed)).code).toBe(CloseCode.staleNonce);
    await expectOffline(imp, device);
  });

  it("refuses requests on a socket that has not finished the handshake", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    await device.challenge();
    await expectOffline(imp, device);
  });

  it("closes a socket that sends anything but hello first", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    await device.challenge();
    device.send(encodeFrame({ t: "res", id: "x", status: 200, headers: [] }));
    expect((await within(2000, device.closed)).code).toBe(CloseCode.protocolError);
  });

  it("closes a socket that does not authenticate within 5 seconds", async () => {
    const imp = await createImp();
    const device = await open(imp.impId);
    await device.challenge();
    const { code } = await within(8000, device.closed, "handshake timeout");
    expect(code).toBe(CloseCode.handshakeTimeout);
  }, 15_000);

  it("answers a device connect without Upgrade with 426", async () => {
    const imp = await createImp();
    expect((await edgeFetch(`/device/${imp.impId}/connect?cnonce=${"a".repeat(43)}`)).status).toBe(426);
  });
});
