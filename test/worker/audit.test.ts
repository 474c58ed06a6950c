/** The audit log: every security event, newest first, with time and client, and no secrets. */

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { signDeviceProof } from "../../protocol/index.ts";
import { addCallerKey, admin, createImp, edgeFetch, randomClient, TestDevice } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

describe("audit log", () => {
  it("records credential, URL, HTTP, auth and device events, newest first, without secrets", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const secretCred = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "jwt-secret" }) })
    ).json<{ credential: { id: string }; secret: string }>();
    const caller = await addCallerKey(imp);
    const client = randomClient();
    await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: "Bearer not-a-token", "cf-connecting-ip": client } });
    await edgeFetch(`${imp.agentUrl.replace("https:", "http:")}/x`, { headers: { "cf-connecting-ip": client } });
    await admin(`/imps/${imp.impId}/credentials/${caller.credId}`, { method: "DELETE" });
    await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" });
    // Worker-side refusals are audited in the background: give them a moment.
    await new Promise((r) => setTimeout(r, 200));

    const res = await admin(`/imps/${imp.impId}/audit`);
    const text = await res.text();
    const { entries } = JSON.parse(text) as {
      entries: { seq: number; at: number; event: string; client: string; detail: Record<string, unknown> }[];
    };
    const events = entries.map((e) => e.event);
    expect(events[0]).toBe("url_rotated");
    expect(events).toEqual(
      expect.arrayContaining(["device_connected", "credential_added", "auth_failed", "http_refused", "credential_revoked"]),
    );
    for (let i = 1; i < entries.length; i++) expect(entries[i - 1]!.at).toBeGreaterThanOrEqual(entries[i]!.at);
    expect(entries.find((e) => e.event === "auth_failed")).toMatchObject({ client, detail: { reason: "malformed" } });
    for (const e of entries) expect(e.at).toBeGreaterThan(Date.now() - 60_000);
    expect(text).not.toContain(secretCred.secret);
    expect(text).not.toContain("not-a-token");
    expect(text).not.toContain(env.ADMIN_SECRET);
  });

  it("records a refused device with the reason", async () => {
    const imp = await createImp();
    const other = await createImp();
    const device = await TestDevice.open(imp.impId);
    devices.push(device);
    const challenge = await device.challenge();
    await device.hello(await signDeviceProof(other.deviceKey, "EdDSA", { impId: imp.impId, nonce: challenge.nonce }));
    await device.closed;
    const { entries } = await (await admin(`/imps/${imp.impId}/audit`)).json<{
      entries: { event: string; detail: Record<string, unknown> }[];
    }>();
    expect(entries[0]).toMatchObject({ event: "device_refused", detail: { reason: "bad_signature" } });
  });
});
