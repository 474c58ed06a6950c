/**
 * Sealed traffic at the edge, per imp (`impgate imp set --e2e`): what `required`, `optional`
 * and `off` let through, the key statement the edge keeps and serves, and agent code as the
 * alternative to `required`. The device here is the runtime's test device with real keys
 * (./sealed-helpers.ts); the daemon's own side is in test/e2e/sealed*.test.ts.
 */
import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../protocol/index.ts";
import { fingerprint, SUITE, signStatement } from "../../protocol/sealed/index.ts";
import { flipBit, identityKey } from "../helpers/sealed-fixture.ts";
import { admin, callerFetch, deployAgent, edgeFetch, eventually } from "./helpers.ts";
import { sealedImp, sendEvent, setE2e } from "./sealed-helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const SEALED = { "content-type": "application/impgate-sealed-request" };

async function errorCode(res: Response): Promise<[number, string]> {
  return [res.status, (await res.json<{ error: { code: string } }>()).error.code];
}

describe("an imp that requires sealing", () => {
  it("refuses plaintext requests, messages and events, and none reaches the device or the store", async () => {
    const s = await sealedImp("required");
    expect(await errorCode(await callerFetch(s.imp, "/door", { method: "POST", body: "open" }))).toEqual([403, "e2e_required"]);
    expect(await errorCode(await callerFetch(s.imp, "/_messages?name=door", { method: "POST", body: "open" }))).toEqual([
      403,
      "e2e_required",
    ]);
    const refused = await sendEvent(s.device, "temperature", text("21.5"), "text/plain");
    expect(refused.msg).toMatchObject({ t: "error", code: "e2e_required" });
    // A "JWE" by its media type only is no sealed event.
    expect((await sendEvent(s.device, "x", text('{"not":"sealed"}'), "application/jose+json")).msg.t).toBe("error");
    expect(await s.device.quiet("req")).toBe(true);
    expect(s.device.messages).toEqual([]);
    expect((await (await callerFetch(s.imp, "/_events")).json<{ events: unknown[] }>()).events).toEqual([]);
    // Sealed traffic still goes through.
    const caller = await s.caller();
    const sealed = await caller.seal({ method: "POST", path: "/door", body: text("open") });
    const res = await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: sealed.bytes });
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode((await sealed.openReply(new Uint8Array(await res.arrayBuffer()))).body)).toBe("open");
    s.device.close();
  });

  it("cannot take agent code, and an imp with agent code cannot be made to require sealing", async () => {
    const s = await sealedImp("required");
    const deploy = await admin(`/imps/${s.imp.impId}/agent`, {
      method: "POST",
      body: JSON.stringify({ code: "export default { fetch() { return new Response('x') } }" }),
    });
    expect(await errorCode(deploy)).toEqual([409, "e2e_conflict"]);
    expect((await setE2e(s.imp, "optional")).status).toBe(200);
    await deployAgent(s.imp, "export default { fetch() { return new Response('agent') } }");
    expect(await errorCode(await setE2e(s.imp, "required"))).toEqual([409, "e2e_conflict"]);
    // Optional: agent code answers plaintext; sealed requests still go to the device, never to the code.
    expect(await (await callerFetch(s.imp, "/x")).text()).toBe("agent");
    const caller = await s.caller();
    const sealed = await caller.seal({ method: "GET", path: "/x" });
    const res = await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: sealed.bytes });
    expect((await sealed.openReply(new Uint8Array(await res.arrayBuffer()))).status).toBe(200);
    expect(s.handled.map((r) => r.path)).toEqual(["/x"]);
    s.device.close();
  });

  it("shows its setting, the device's fingerprint and the statement it serves; the change is audited", async () => {
    const s = await sealedImp("required");
    const view = await (await admin(`/imps/${s.imp.impId}`)).json<Record<string, unknown>>();
    expect(view).toMatchObject({ e2e: "required", deviceFingerprint: s.pin, sealedKey: { keyId: s.opening.keyId, sequence: 1 } });
    const audit = await (await admin(`/imps/${s.imp.impId}/audit`)).json<{ entries: { event: string; detail: unknown }[] }>();
    expect(audit.entries).toContainEqual(expect.objectContaining({ event: "settings_changed", detail: { e2e: "required" } }));
    s.device.close();
  });
});

describe("an imp with sealing off (the default)", () => {
  it("refuses the key statement, sealed requests and sealed messages, and relays plaintext", async () => {
    const s = await sealedImp("off");
    s.device.serve(() => ({ status: 200, body: "plain" }));
    expect(await errorCode(await callerFetch(s.imp, "/_sealed/key"))).toEqual([403, "e2e_off"]);
    expect(await errorCode(await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: "x" }))).toEqual([403, "e2e_off"]);
    const message = await callerFetch(s.imp, "/_messages?name=sealed", {
      method: "POST",
      headers: { "content-type": "application/impgate-sealed-message" },
      body: "x",
    });
    expect(await errorCode(message)).toEqual([403, "e2e_off"]);
    expect(await (await callerFetch(s.imp, "/hello")).text()).toBe("plain");
    s.device.close();
  });
});

describe("sealed requests at the edge", () => {
  it("need a credential, the sealed media type and POST, and are refused over the body limit before the device sees them", async () => {
    const s = await sealedImp("optional");
    expect((await edgeFetch(`${s.imp.agentUrl}/_sealed/key`)).status).toBe(401);
    expect((await edgeFetch(`${s.imp.agentUrl}/_sealed`, { method: "POST", headers: SEALED, body: "x" })).status).toBe(401);
    expect(await errorCode(await callerFetch(s.imp, "/_sealed", { method: "POST", body: "x" }))).toEqual([400, "bad_content_type"]);
    expect(await errorCode(await callerFetch(s.imp, "/_sealed"))).toEqual([405, "method_not_allowed"]);
    expect(await errorCode(await callerFetch(s.imp, "/_sealed/other"))).toEqual([404, "not_found"]);
    const big = new Uint8Array(1024 * 1024 + 1);
    expect(await errorCode(await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: big }))).toEqual([
      413,
      "body_too_large",
    ]);
    // Each refusal was answered before the edge relayed anything (a relayed request waits for the device's reply).
    expect(s.sreqs).toEqual([]);
    s.device.close();
  });

  it("pass the device's refusal of a tampered request to the caller, and 503 when the device is offline", async () => {
    const s = await sealedImp("optional");
    const caller = await s.caller();
    const sealed = await caller.seal({ method: "POST", path: "/door", body: text("open") });
    const tampered = await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: flipBit(sealed.bytes, 8 * 60) });
    expect(tampered.status).toBe(400);
    expect(s.handled).toEqual([]);
    s.device.close();
    await eventually(
      "the device gone",
      async () => (await callerFetch(s.imp, "/_sealed", { method: "POST", headers: SEALED, body: sealed.bytes })).status === 503,
    );
  });

  it("serve no statement before the device sent one, nor one signed by another key or older than the last", async () => {
    const s = await sealedImp("optional");
    // The helper's statement arrives just after connecting: wait for it, then try to replace it.
    await eventually("the statement served", async () => (await callerFetch(s.imp, "/_sealed/key")).status === 200);
    const stranger = await signStatement(await identityKey(), {
      impId: s.imp.impId,
      keyId: 7,
      encryptionKey: "A".repeat(43),
      suite: SUITE,
      created: Date.now(),
      notAfter: Date.now() + 60_000,
      sequence: 99,
    });
    s.device.send(encodeFrame({ t: "key", statement: stranger }));
    expect((await s.device.nextOf("error")).msg).toMatchObject({ code: "bad_statement" });
    const older = await signStatement(s.identity, {
      impId: s.imp.impId,
      keyId: 8,
      encryptionKey: "A".repeat(43),
      suite: SUITE,
      created: Date.now(),
      notAfter: Date.now() + 60_000,
      sequence: 0,
    });
    s.device.send(encodeFrame({ t: "key", statement: older }));
    expect((await s.device.nextOf("error")).msg).toMatchObject({ code: "bad_statement" });
    expect(await (await callerFetch(s.imp, "/_sealed/key")).text()).toBe(s.statement);
    expect(await fingerprint(s.identity)).toBe(s.pin);
    s.device.close();
  });

  it("answer 404 for the statement of a device that has sent none", async () => {
    const s = await sealedImp("optional", undefined, { sendKey: false });
    expect(await errorCode(await callerFetch(s.imp, "/_sealed/key"))).toEqual([404, "key_statement_not_found"]);
    s.device.close();
  });
});
