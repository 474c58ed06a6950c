/**
 * A webhook that was accepted once is refused ever after, whatever the signature header is
 * dressed in: decoy signatures before or after the real one, duplicates, other schemes,
 * another order, another case or spacing. Replay memory keys on the signature that verified.
 */

import { describe, expect, it } from "vitest";
import { signWebhook, type WebhookFormat } from "../../protocol/index.ts";
import { admin, connectedDevices, edgeFetch, type TestDevice, type TestImp } from "./helpers.ts";

const devices = connectedDevices();

async function webhookImp(format: WebhookFormat): Promise<{ imp: TestImp; device: TestDevice; secret: string }> {
  const { imp, device } = await devices.online();
  device.serve(() => ({ status: 200, body: "delivered" }));
  const res = await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format }) });
  return { imp, device, secret: (await res.json<{ secret: string }>()).secret };
}

function post(imp: TestImp, name: string, value: string, body: string): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/hooks/in`, { method: "POST", headers: { [name]: value, "content-type": "application/json" }, body });
}

const body = JSON.stringify({ id: "evt_1", type: "charge.succeeded" });
const decoy = () => [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Ways to dress the same timestamp and valid signature `s` in a `t=…,v1=…` header. */
const timestamped: [string, (t: string, s: string) => string][] = [
  ["as signed", (t, s) => `t=${t},v1=${s}`],
  ["a decoy v1 before the valid one", (t, s) => `t=${t},v1=${decoy()},v1=${s}`],
  ["a decoy v1 after the valid one", (t, s) => `t=${t},v1=${s},v1=${decoy()}`],
  ["several decoys around it", (t, s) => `t=${t},v1=${decoy()},v1=${decoy()},v1=${s},v1=${decoy()}`],
  ["the valid signature twice", (t, s) => `t=${t},v1=${s},v1=${s}`],
  ["a v0 scheme and a decoy first", (t, s) => `v0=${decoy()},t=${t},v1=${decoy()},v1=${s}`],
  ["an unknown scheme", (t, s) => `t=${t},v9=${decoy()},v1=${s}`],
  ["t last", (t, s) => `v1=${decoy()},v1=${s},t=${t}`],
  ["upper-case hex", (t, s) => `t=${t},v1=${s.toUpperCase()}`],
  ["upper-case scheme names", (t, s) => `T=${t},V1=${s}`],
  ["spaces after commas", (t, s) => `t=${t}, v1=${decoy()}, v1=${s}`],
  ["spaces around =", (t, s) => `t = ${t},v1 = ${s}`],
];

describe.each(["stripe", "generic"] as const)("%s webhooks, replayed", (format) => {
  it.each(timestamped)("first accepted with %s, refused on every replay", async (_, first) => {
    const { imp, device, secret } = await webhookImp(format);
    const [name, signed] = await signWebhook(format, secret, new TextEncoder().encode(body));
    const [, t = "", s = ""] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signed) ?? [];
    const accepted = await post(imp, name, first(t, s), body);
    if (accepted.status !== 200) {
      // A spelling the parser refuses is never accepted in the first place: nothing to replay.
      expect(accepted.status).toBe(401);
      expect(device.requests).toHaveLength(0);
      return;
    }
    for (const [how, dress] of timestamped) {
      const res = await post(imp, name, dress(t, s), body);
      expect(res.status, `replay with ${how}`).toBe(401);
    }
    expect(device.requests).toHaveLength(1);
  });
});

describe("GitHub webhooks, replayed", () => {
  it("are refused whatever the header looks like", async () => {
    const { imp, device, secret } = await webhookImp("github");
    const [name, signed] = await signWebhook("github", secret, new TextEncoder().encode(body));
    const s = signed.slice("sha256=".length);
    expect((await post(imp, name, signed, body)).status).toBe(200);
    for (const value of [signed, `sha256=${s.toUpperCase()}`, `SHA256=${s}`, ` sha256=${s} `, `sha256=${s}, sha256=${s}`, `sha256= ${s}`]) {
      expect((await post(imp, name, value, body)).status, value).toBe(401);
    }
    expect(device.requests).toHaveLength(1);
  });
});
