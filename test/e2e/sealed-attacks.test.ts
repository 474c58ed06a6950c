/**
 * Sealed traffic from the attacker's side, through the real edge and daemon: bytes changed
 * on the way, a sealed request sent again, a reply moved onto another request, an edge that
 * serves a key statement the pinned device did not sign, and a device that rotated its key.
 * Each refusal is checked at the caller, and that nothing reached the local service.
 */
import { readFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { SealedCaller, SUITE, senderKey, signStatement } from "../../protocol/sealed/index.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { code, flipBit, identityKey } from "../helpers/sealed-fixture.ts";
import { dpopAuth, readJwk, type SealedDevice, sealedDevice } from "../helpers/sealed-system.ts";

const text = (s: string) => new TextEncoder().encode(s);
const newSigningJwk = async () => exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);

describe("sealed traffic under attack", () => {
  const e2e = useSystem();
  /** One device for the attacks that leave it as it was (each checks only what reached its service since). */
  let shared: SealedDevice;
  beforeAll(async () => {
    shared = await sealedDevice(e2e, "shared");
  });

  /** A caller of `d` made with the library: a DPoP-bound token, the device's statement checked against the pin. */
  async function libraryCaller(d: SealedDevice) {
    const auth = await dpopAuth(d);
    const caller = new SealedCaller({ impId: d.imp.impId, pin: d.fingerprint }, await senderKey(await readJwk(d.callerKey)));
    const keyUrl = `${d.imp.agentUrl}/_sealed/key`;
    const statement = async () => (await e2e.request(keyUrl, { headers: await auth("GET", keyUrl) })).body.toString();
    await caller.trust(await statement());
    const sealedUrl = `${d.imp.agentUrl}/_sealed`;
    // Each post is a new outer request (a fresh proof): what is sent again is the sealed request inside.
    const post = async (bytes: Uint8Array) =>
      e2e.request(sealedUrl, {
        method: "POST",
        headers: { ...(await auth("POST", sealedUrl)), "content-type": "application/impgate-sealed-request" },
        body: bytes,
      });
    return { caller, post, statement };
  }

  const errorOf = (body: Buffer) => (JSON.parse(body.toString()) as { error: { code: string } }).error.code;

  it("refuses a sealed request changed by one bit, with a clear error to the caller, and nothing reaches the service", async () => {
    const d = shared;
    d.service.received.length = 0;
    const { caller, post } = await libraryCaller(d);
    const sealed = await caller.seal({ method: "POST", path: "/door", body: text("open") });
    for (const bit of [8 * 50 + 3, 8 * (sealed.bytes.length - 1)]) {
      const res = await post(flipBit(sealed.bytes, bit));
      expect([res.status, errorOf(res.body)], `bit ${bit}`).toEqual([400, "sealed_tampered"]);
    }
    // The original still opens: nothing of the tampered copies was remembered.
    expect((await post(sealed.bytes)).status).toBe(200);
    expect(d.service.received.map((r) => r.url)).toEqual(["/door"]);
  });

  it("refuses a sealed request sent again, and the service gets it once", async () => {
    const d = await sealedDevice(e2e, "replay");
    const { caller, post } = await libraryCaller(d);
    const sealed = await caller.seal({ method: "POST", path: "/door", body: text("open") });
    expect((await post(sealed.bytes)).status).toBe(200);
    const again = await post(sealed.bytes);
    expect([again.status, errorOf(again.body)]).toEqual([409, "sealed_replayed"]);
    // Across a restart of the daemon too: its memory of sealed ids is on disk.
    await d.daemon.stop();
    const restarted = e2e.daemon(d.imp, ["--forward", d.service.url]);
    await restarted.waitReady();
    await restarted.waitFor((l) => l.msg === "key statement sent to the edge");
    const third = await post(sealed.bytes);
    expect([third.status, errorOf(third.body)]).toEqual([409, "sealed_replayed"]);
    expect(d.service.received.length).toBe(1);
  });

  it("cannot open a reply sealed for another request, nor another caller's reply", async () => {
    const d = shared;
    const { caller, post } = await libraryCaller(d);
    const a = await caller.seal({ method: "GET", path: "/a" });
    const b = await caller.seal({ method: "GET", path: "/b" });
    const replyA = new Uint8Array((await post(a.bytes)).body);
    const replyB = new Uint8Array((await post(b.bytes)).body);
    expect(await code(b.openReply(replyA))).toBe("ERR_SEALED_TAMPERED");
    expect(await code(a.openReply(replyB))).toBe("ERR_SEALED_TAMPERED");
    // Another caller (its own key, the same pinned statement) that got hold of A's reply, say from the
    // edge, and sealed the very same inner request itself: its request's context opens nothing of A's.
    const other = new SealedCaller({ impId: d.imp.impId, pin: d.fingerprint }, await senderKey(await newSigningJwk()));
    await other.trust(await (await libraryCaller(d)).statement());
    const same = await other.seal({ method: "GET", path: "/a" });
    expect(await code(same.openReply(replyA))).toBe("ERR_SEALED_TAMPERED");
    expect((await a.openReply(replyA)).status).toBe(200);
  });

  it("still opens requests sealed to the previous key inside the overlap after a rotation, and refuses them after", async () => {
    const d = await sealedDevice(e2e, "rotate");
    const { caller: old, post, statement } = await libraryCaller(d);
    const before = await statement();
    const rotated = await d.device("e2e", "rotate", "--config", d.imp.config, "--overlap", "6s");
    expect(rotated.stderr).toBe("");
    const until = Date.now() + 6_000;
    // The running daemon takes the new key up and hands its statement to the edge.
    await eventually(async () => (await statement()) !== before, { timeout: 10_000, what: "the new statement at the edge" });
    expect((await post((await old.seal({ method: "GET", path: "/inside" })).bytes)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 1_500));
    const after = await post((await old.seal({ method: "GET", path: "/after" })).bytes);
    expect([after.status, errorOf(after.body)]).toEqual([422, "sealed_unknown_key"]);
    expect(d.service.received.map((r) => r.url)).toEqual(["/inside"]);
    // The CLI fetches the new statement (checked against the same pin) and goes through.
    const call = await d.caller("call", "--sealed", `${d.imp.agentUrl}/new`, "--key", d.callerKey);
    expect([call.code, call.stderr]).toEqual([0, ""]);
    expect(d.daemon.lines.some((l) => l.msg === "sealed keys changed on disk; taking them up")).toBe(true);
  });

  it("detects an edge that serves a key statement signed by another key, and sends nothing", async () => {
    const d = shared;
    const intruder = await signStatement(await identityKey(), {
      impId: d.imp.impId,
      keyId: 1,
      encryptionKey: "A".repeat(43),
      suite: SUITE,
      created: Date.now(),
      notAfter: Date.now() + 60_000,
      sequence: 1_000,
    });
    const seen: string[] = [];
    const server = https.createServer(
      { cert: await readFile(e2e.system.pki.certFile), key: await readFile(e2e.system.pki.keyFile) },
      (req, res) => {
        seen.push(`${req.method} ${req.url}`);
        if (req.url?.endsWith("/_sealed/key"))
          res.writeHead(200, { "content-type": "application/impgate-key-statement+jwt" }).end(intruder);
        else res.writeHead(500).end();
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    e2e.defer(() => new Promise((r) => server.close(r)));
    const agentUrl = `https://localhost:${(server.address() as AddressInfo).port}/agent/agt_${"x".repeat(64)}`;
    expect((await d.caller("e2e", "pin", agentUrl, "--fingerprint", d.fingerprint, "--imp", d.imp.impId)).code).toBe(0);
    const call = await d.caller("call", "--sealed", `${agentUrl}/door`, "-d", "open", "--token", "t", "--sender-key", d.callerKey);
    expect(call.code).toBe(1);
    expect(call.stderr).toMatch(/REFUSED, nothing sent: the key statement .* was not signed by the pinned device/);
    expect(seen).toEqual([`GET /agent/agt_${"x".repeat(64)}/_sealed/key`]);
    server.closeAllConnections();
  });
});
