/** Signed webhooks in the formats real senders use, with a replay window. */
import { afterEach, describe, expect, it } from "vitest";
import { signWebhook, type WebhookFormat } from "../../protocol/index.ts";
import { admin, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function webhookImp(format: WebhookFormat): Promise<{ imp: TestImp; device: TestDevice; secret: string; credId: string }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve((_req, body) => ({ status: 200, body }));
  devices.push(device);
  const res = await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format }) });
  const created = await res.json<{ credential: { id: string }; secret: string }>();
  return { imp, device, secret: created.secret, credId: created.credential.id };
}

function post(imp: TestImp, body: string, header: [string, string]): Promise<Response> {
  return edgeFetch(`${imp.agentUrl}/hooks/push`, {
    method: "POST",
    headers: { [header[0]]: header[1], "content-type": "application/json" },
    body,
  });
}

const payload = JSON.stringify({ action: "opened", number: 42 });

describe.each(["github", "stripe", "generic"] as const)("%s webhooks", (format) => {
  it("deliver a correctly signed body to the device, byte for byte", async () => {
    const { imp, device, secret } = await webhookImp(format);
    const res = await post(imp, payload, await signWebhook(format, secret, new TextEncoder().encode(payload)));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(payload);
    expect(device.requests).toHaveLength(1);
  });

  it("refuse a body that was changed after signing, a wrong secret, and a garbled header", async () => {
    const { imp, device, secret } = await webhookImp(format);
    const header = await signWebhook(format, secret, new TextEncoder().encode(payload));
    for (const attempt of [
      post(imp, payload.replace("42", "43"), header),
      post(imp, payload, await signWebhook(format, "whsec_wrong", new TextEncoder().encode(payload))),
      post(imp, payload, [header[0], header[1].slice(0, -1)]),
      post(imp, payload, [header[0], "sha1=abc"]),
    ]) {
      expect((await attempt).status).toBe(401);
    }
    expect(device.requests).toHaveLength(0);
  });

  it("refuse a replay of a delivery already accepted", async () => {
    const { imp, device, secret } = await webhookImp(format);
    const header = await signWebhook(format, secret, new TextEncoder().encode(payload));
    expect((await post(imp, payload, header)).status).toBe(200);
    expect((await post(imp, payload, header)).status).toBe(401);
    expect(device.requests).toHaveLength(1);
  });

  it("stop at once when the webhook credential is revoked", async () => {
    const { imp, device, secret, credId } = await webhookImp(format);
    await admin(`/imps/${imp.impId}/credentials/${credId}`, { method: "DELETE" });
    expect((await post(imp, payload, await signWebhook(format, secret, new TextEncoder().encode(payload)))).status).toBe(401);
    expect(device.requests).toHaveLength(0);
  });
});

describe("timestamped webhook signatures", () => {
  it("are refused outside the 5 minute window, even when correctly signed", async () => {
    const { imp, device, secret } = await webhookImp("stripe");
    const now = Math.floor(Date.now() / 1000);
    const body = new TextEncoder().encode(payload);
    expect((await post(imp, payload, await signWebhook("stripe", secret, body, now - 310))).status).toBe(401);
    expect((await post(imp, payload, await signWebhook("stripe", secret, body, now + 310))).status).toBe(401);
    expect((await post(imp, payload, await signWebhook("stripe", secret, body, now - 200))).status).toBe(200);
    expect(device.requests).toHaveLength(1);
  });

  it("accept a header carrying several v1 signatures (a sender rolling its secret)", async () => {
    const { imp, secret } = await webhookImp("stripe");
    const [name, value] = await signWebhook("stripe", secret, new TextEncoder().encode(payload));
    const rolled = value.replace(",v1=", `,v1=${"0".repeat(64)},v1=`);
    expect((await post(imp, payload, [name, rolled])).status).toBe(200);
  });
});
