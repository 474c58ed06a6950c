/**
 * `--public` opens an agent's relay to unauthenticated callers, and nothing more: its own
 * APIs (`_messages`, `_events`, `_state`) stay behind authentication unless the operator
 * also opts in to `--public-apis`, separately and audited.
 */

import { describe, expect, it } from "vitest";
import { admin, auditEvents, callerFetch, connectedDevices, edgeFetch } from "./helpers.ts";

const devices = connectedDevices();

async function publicImp(settings: Record<string, boolean>) {
  const online = await devices.online();
  online.device.serve(() => ({ status: 200, body: "relayed" }));
  const res = await admin(`/imps/${online.imp.impId}`, { method: "PATCH", body: JSON.stringify(settings) });
  expect(res.status).toBe(200);
  return online;
}

describe("a public agent", () => {
  it("relays an unauthenticated request, but refuses its messages, events and state to anyone unauthenticated", async () => {
    const { imp, device } = await publicImp({ public: true });
    const queued = await (await callerFetch(imp, "/_messages?name=owner", { method: "POST", body: "{}" })).json<{ id: string }>();
    await device.nextOf("msg");
    device.messages.length = 0;

    expect(await (await edgeFetch(`${imp.agentUrl}/x`)).text()).toBe("relayed");
    const attempts: [string, RequestInit][] = [
      ["/_messages?name=open-door", { method: "POST", body: '{"door":1}' }],
      ["/_state/door", { method: "PUT", body: '"open"' }],
      ["/_state/door", { method: "DELETE" }],
      ["/_state", {}],
      ["/_events", {}],
      [`/_messages/${queued.id}`, {}],
    ];
    for (const [path, init] of attempts) {
      const res = await edgeFetch(`${imp.agentUrl}${path}`, init);
      expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    }
    expect(await device.quiet("msg")).toBe(true);
    expect(device.messages).toHaveLength(0);
    expect((await callerFetch(imp, "/_state")).status).toBe(200);
    expect(await (await callerFetch(imp, "/_state")).json()).toMatchObject({ state: {} });
    expect(device.requests).toHaveLength(1);
  });

  it("opens its APIs only with the separate opt-in, which is audited", async () => {
    const { imp, device } = await publicImp({ public: true, publicApis: true });
    expect((await edgeFetch(`${imp.agentUrl}/_state/door`, { method: "PUT", body: '"open"' })).status).toBe(200);
    expect((await edgeFetch(`${imp.agentUrl}/_messages?name=open-door`, { method: "POST", body: "{}" })).status).toBe(202);
    expect((await device.nextOf("msg")).msg.name).toBe("open-door");
    const status = await (await admin(`/imps/${imp.impId}`)).json<{ public: boolean; publicApis: boolean }>();
    expect(status).toMatchObject({ public: true, publicApis: true });
    expect(await auditEvents(imp)).toContainEqual(
      expect.objectContaining({ event: "settings_changed", detail: expect.objectContaining({ publicApis: true }) }),
    );
  });

  it("with only the APIs opened, still authenticates the relay", async () => {
    const { imp, device } = await publicImp({ publicApis: true });
    expect((await edgeFetch(`${imp.agentUrl}/x`)).status).toBe(401);
    expect(device.requests).toHaveLength(0);
  });
});
