/**
 * The kill switch, tried as callers would: once an imp is disabled, every caller of its agent
 * URL gets the same 423 (whatever credential it sends, valid, forged or none, and before any
 * is checked), nothing reaches the device or the agent code, no message is accepted or
 * delivered; the device stays connected unless dropped; enabling lets everything through again.
 */
import { describe, expect, it } from "vitest";
import {
  addCallerKey,
  admin,
  agentLogs,
  assertion,
  auditEvents,
  bearerToken,
  callerFetch,
  connectedDevices,
  createImp,
  deployAgent,
  edgeFetch,
  eventually,
  TestDevice,
  type TestImp,
  within,
} from "./helpers.ts";

const LOCKED = { error: { code: "locked", message: "Locked" } };

async function disable(imp: TestImp, body: object = {}): Promise<void> {
  const res = await admin(`/imps/${imp.impId}/disable`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "impgate-operator": "ops@desk" },
  });
  expect(res.status).toBe(200);
}

async function enable(imp: TestImp): Promise<void> {
  expect((await admin(`/imps/${imp.impId}/enable`, { method: "POST" })).status).toBe(200);
}

async function expectLocked(what: string, res: Promise<Response>): Promise<void> {
  const answer = await res;
  expect(answer.status, what).toBe(423);
  expect(await answer.json(), what).toEqual(LOCKED);
}

describe("the kill switch", () => {
  const { online, track } = connectedDevices();

  it("answers 423 to every caller, whatever credential it sends, and nothing reaches the device", async () => {
    const { imp, device } = await online();
    device.serve(() => ({ status: 200, body: "the door opens" }));
    const cred = await addCallerKey(imp);
    // Minted before the switch: a token this worker would verify by itself.
    const token = await bearerToken(imp, cred);
    // And one whose scope stops at a path: the worker itself would refuse it POST /door (403).
    const narrow = await bearerToken(imp, await addCallerKey(imp, "EdDSA", { scope: ["GET /status"], dpop: false }));
    const nonce = (await (await edgeFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST" })).json<{ nonce: string }>()).nonce;
    await disable(imp, { reason: "stolen caller key" });

    const bearer = { authorization: `Bearer ${token}` };
    const attempts: [string, Promise<Response>][] = [
      ["no credential", edgeFetch(`${imp.agentUrl}/door`)],
      ["a valid token", edgeFetch(`${imp.agentUrl}/door`, { method: "POST", headers: bearer })],
      [
        "a valid token outside its scope",
        edgeFetch(`${imp.agentUrl}/door`, { method: "POST", headers: { authorization: `Bearer ${narrow}` } }),
      ],
      ["a forged token", edgeFetch(`${imp.agentUrl}/door`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } })],
      ["a malformed credential", edgeFetch(`${imp.agentUrl}/door`, { headers: { authorization: "Basic Zm9vOmJhcg==" } })],
      ["a rotating code", edgeFetch(`${imp.agentUrl}/door`, { headers: { "x-imp-code": "12345678" } })],
      [
        "a webhook signature",
        edgeFetch(`${imp.agentUrl}/door`, { method: "POST", headers: { "x-hub-signature-256": `sha256=${"0".repeat(64)}` }, body: "{}" }),
      ],
      ["a message", edgeFetch(`${imp.agentUrl}/_messages?name=open`, { method: "POST", headers: bearer, body: "now" })],
      ["the state", edgeFetch(`${imp.agentUrl}/_state`, { headers: bearer })],
      ["the events", edgeFetch(`${imp.agentUrl}/_events`, { headers: bearer })],
      ["a challenge", edgeFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST" })],
      [
        "a token exchange",
        edgeFetch(`${imp.agentUrl}/_auth/token`, {
          method: "POST",
          headers: { "content-type": "application/jwt" },
          body: await assertion(cred, { nonce, audience: imp.agentUrl }),
        }),
      ],
      [
        "a made-up nonce",
        edgeFetch(`${imp.agentUrl}/_auth/token`, {
          method: "POST",
          headers: { "content-type": "application/jwt" },
          body: await assertion(cred, { nonce: "made-up", audience: imp.agentUrl }),
        }),
      ],
    ];
    for (const [what, res] of attempts) await expectLocked(what, res);

    expect(device.requests).toHaveLength(0);
    expect(device.messages).toHaveLength(0);
    // The device stays connected, so the imp can be enabled again without a visit.
    expect((await (await admin(`/imps/${imp.impId}`)).json<{ online: boolean }>()).online).toBe(true);
    const entry = (await auditEvents(imp)).find((e) => e.event === "imp_disabled");
    expect(entry?.detail).toMatchObject({ by: "ops@desk", reason: "stolen caller key", dropDevice: false });

    await enable(imp);
    const res = await edgeFetch(`${imp.agentUrl}/door`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("the door opens");
  });

  it("is not counted as a failed attempt: a disabled imp's callers are not rate limited for it", async () => {
    const { imp } = await online();
    await disable(imp);
    const client = "2001:db8:423::1";
    for (let i = 0; i < 15; i++) {
      await expectLocked(
        `attempt ${i}`,
        edgeFetch(`${imp.agentUrl}/x`, { headers: { "cf-connecting-ip": client, authorization: "Bearer x.y.z" } }),
      );
    }
  });

  it("holds queued messages and the agent code while disabled, and lets them through when enabled", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch() { return new Response("agent"); },
      async onDeviceEvent(event) { console.log("event " + event.name); },
    }`,
    );
    const queued = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body: "queued before" });
    expect(queued.status).toBe(202);
    await disable(imp);

    const device = track(await TestDevice.connect(imp));
    // Connected, but nothing queued is delivered, and its events reach no agent code.
    expect(await device.quiet("msg", 500)).toBe(true);
    expect((await device.event("door", { open: true })).msg.t).toBe("ack");
    await new Promise((r) => setTimeout(r, 300));
    expect((await agentLogs(imp)).filter((l) => l.source === "agent")).toEqual([]);

    await enable(imp);
    const { msg } = await device.nextOf("msg", 3000);
    expect(msg.name).toBe("cmd");
    await device.event("door", { open: false });
    await eventually("the agent code ran", async () => (await agentLogs(imp)).some((l) => l.message === "event door"));
  });

  it("with --drop-device closes the device's socket and refuses it until the imp is enabled", async () => {
    const { imp, device } = await online();
    await disable(imp, { dropDevice: true });
    expect((await within(2000, device.closed, "the socket closed")).code).toBe(4006);

    const again = track(await TestDevice.open(imp.impId));
    expect((await within(2000, again.closed, "the reconnect refused")).code).toBe(4006);

    await enable(imp);
    const back = track(await TestDevice.connect(imp));
    back.serve(() => ({ status: 200, body: "back" }));
    expect(await (await callerFetch(imp, "/x")).text()).toBe("back");
  });

  it("refuses agent code that is still running when the imp is disabled", async () => {
    const { imp, device } = await online();
    device.serve(() => ({ status: 200, body: "reached" }));
    await deployAgent(
      imp,
      `export default { async fetch(req, env) {
        await new Promise((r) => setTimeout(r, 400));
        const res = await env.device.request("/late");
        return new Response(String(res.status));
      } }`,
    );
    const running = callerFetch(imp, "/slow");
    await new Promise((r) => setTimeout(r, 100));
    await disable(imp);
    // Its call to the device is refused (thrown in the agent's code, as for a version rolled back meanwhile).
    const res = await running;
    expect(res.status).toBe(500);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("agent_exception");
    expect(device.requests).toHaveLength(0);
  });
});
