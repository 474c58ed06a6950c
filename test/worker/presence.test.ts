/**
 * Presence: a device whose link is silent (no heartbeat, no frame) past the imp's presence
 * timeout is offline, its callers hear it at once, and it is online again when it returns.
 * Devices here announce a 500 ms heartbeat, so a 1 s timeout is allowed.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import type { ImpStatus } from "../../protocol/admin-api.ts";
import { CloseCode } from "../../protocol/index.ts";
import { admin, auditEvents, callerFetch, connectedDevices, createImp, TestDevice, type TestImp, within } from "./helpers.ts";

const HEARTBEAT_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(imp: TestImp): Promise<ImpStatus> {
  return (await admin(`/imps/${imp.impId}`)).json<ImpStatus>();
}

function setPresence(imp: TestImp, presenceTimeoutS: number | null): Promise<Response> {
  return admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ presenceTimeoutS }) });
}

function alarmOf(imp: TestImp): Promise<number | null> {
  return runInDurableObject(env.IMP.getByName(imp.impId), (_: ImpSession, state) => state.storage.getAlarm());
}

describe("presence", () => {
  const devices = connectedDevices();

  /** A device announcing a 500 ms heartbeat, on an imp whose presence timeout is 1 s. */
  async function quickDevice(): Promise<{ imp: TestImp; device: TestDevice }> {
    const imp = await createImp();
    const device = devices.track(await TestDevice.connect(imp, { heartbeatMs: HEARTBEAT_MS }));
    expect((await setPresence(imp, 1)).status).toBe(200);
    return { imp, device };
  }

  it("takes a silent device offline at its alarm: closes the socket (4008), keeps when it went silent, audits it apart from a disconnect", async () => {
    const { imp, device } = await quickDevice();
    const connectedAt = (await status(imp)).connectedSince ?? 0;
    const closed = await within(4000, device.closed, "the silent socket closed");
    expect(closed.code).toBe(CloseCode.silent);
    const s = await status(imp);
    expect(s).toMatchObject({ online: false, offlineReason: "silent", silentSince: connectedAt, lastSeen: connectedAt });
    expect(s.offlineSince! - connectedAt).toBeGreaterThanOrEqual(1000);
    const events = (await auditEvents(imp)).map((e) => e.event);
    expect(events).toContain("device_silent");
    expect(events).not.toContain("device_disconnected");
    // Offline: nothing left for the alarm to look at.
    expect(await alarmOf(imp)).toBeNull();
  });

  it("keeps a device that pings online across presence checks, and one that only sends frames too", async () => {
    const { imp, device } = await quickDevice();
    const stop = device.heartbeat(200);
    try {
      await sleep(2500);
      expect((await status(imp)).online).toBe(true);
    } finally {
      stop();
    }
    // Frames are a sign of life as well (they wake the object anyway).
    for (let i = 0; i < 8; i++) {
      await device.event("t", i);
      await sleep(250);
    }
    expect((await status(imp)).online).toBe(true);
    expect(await within(1, device.closed).catch(() => "open")).toBe("open");
  });

  it("wakes the object at most once per presence timeout while the device pings, and not at all once it is offline", async () => {
    const { imp, device } = await quickDevice();
    const stop = device.heartbeat(200);
    const alarms = new Set<number>();
    try {
      for (const until = Date.now() + 4000; Date.now() < until; await sleep(100)) {
        const at = await alarmOf(imp);
        if (at !== null) alarms.add(at);
      }
    } finally {
      stop();
    }
    const times = [...alarms].sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    expect((await within(4000, device.closed)).code).toBe(CloseCode.silent);
    expect(await alarmOf(imp)).toBeNull();
  });

  it("answers a request for a silent device 503 with Retry-After at once, before the alarm has run", async () => {
    const { imp, device } = await quickDevice();
    await runInDurableObject(env.IMP.getByName(imp.impId), (_: ImpSession, state) => state.storage.deleteAlarm());
    await sleep(1200);
    const asked = Date.now();
    const res = await callerFetch(imp, "/door");
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("10");
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("device_offline");
    expect(device.requests).toEqual([]);
    expect((await within(2000, device.closed)).code).toBe(CloseCode.silent);
    expect((await status(imp)).offlineReason).toBe("silent");
  });

  it("answers a waiting request 504 device_timeout if its deadline comes before the silence is noticed", async () => {
    const { imp, device } = await quickDevice();
    expect((await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ requestTimeoutMs: 300 }) })).status).toBe(200);
    const res = await callerFetch(imp, "/slow");
    expect(device.requests.map((r) => r.path)).toEqual(["/slow"]);
    expect(res.status).toBe(504);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("device_timeout");
    expect((await status(imp)).online).toBe(true);
  });

  it("answers requests already waiting 503 device_silent when the device goes silent, long before their deadline", async () => {
    const { imp, device } = await quickDevice();
    const asked = Date.now();
    const res = await callerFetch(imp, "/never-answered");
    expect(device.requests.map((r) => r.path)).toEqual(["/never-answered"]);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("10");
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("device_silent");
    // The imp's request timeout is 5 s here; silence was noticed after about 1 s.
    expect(Date.now() - asked).toBeLessThan(3500);
  });

  it("keeps messages queued while the device is offline, and delivers them in order to it when it returns; the old socket gets nothing", async () => {
    const { imp, device } = await quickDevice();
    await within(4000, device.closed, "the silent socket closed");
    const ids: string[] = [];
    for (const body of ["one", "two"]) {
      const res = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body });
      expect(res.status).toBe(202);
      ids.push((await res.json<{ id: string }>()).id);
    }
    expect(device.messages).toEqual([]);
    const back = devices.track(await TestDevice.connect(imp, { heartbeatMs: HEARTBEAT_MS }));
    expect((await status(imp)).online).toBe(true);
    for (const id of ids) {
      const { msg } = await back.nextOf("msg");
      expect(msg.id).toBe(id);
      back.ack(id);
    }
    expect(device.messages).toEqual([]);
  });

  it("takes a device that reconnects while its old socket still looks open onto the new one: the old gets nothing more", async () => {
    const { imp, device: old } = await quickDevice();
    const stop = old.heartbeat(200);
    try {
      const first = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body: "one" });
      expect(first.status).toBe(202);
      const firstId = (await first.json<{ id: string }>()).id;
      expect((await old.nextOf("msg")).msg.id).toBe(firstId);
      // Not acknowledged on the old socket: the new one gets it again, then what comes after.
      const back = devices.track(await TestDevice.connect(imp, { heartbeatMs: HEARTBEAT_MS }));
      expect((await within(2000, old.closed)).code).toBe(CloseCode.replaced);
      const stopBack = back.heartbeat(200);
      try {
        expect((await back.nextOf("msg")).msg.id).toBe(firstId);
        back.ack(firstId);
        const second = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body: "two" });
        expect((await back.nextOf("msg")).msg.id).toBe((await second.json<{ id: string }>()).id);
        back.serve(() => ({ status: 200, body: "new" }));
        expect(await (await callerFetch(imp, "/door")).text()).toBe("new");
        const s = await status(imp);
        expect(s.online).toBe(true);
      } finally {
        stopBack();
      }
    } finally {
      stop();
    }
    expect(old.messages.length).toBe(1);
    expect(old.requests).toEqual([]);
  });

  it("refuses a timeout under twice the device's heartbeat interval; 0 turns the checks off", async () => {
    const imp = await createImp();
    // No device yet: the daemon's default 15 s heartbeat is assumed.
    const refused = await setPresence(imp, 20);
    expect(refused.status).toBe(400);
    expect((await refused.json<{ error: { message: string } }>()).error.message).toMatch(/at least 30 s.*heartbeat interval \(15 s\)/);
    expect((await setPresence(imp, 30)).status).toBe(200);
    for (const bad of [-1, 1.5, 86_401, "45"]) expect((await setPresence(imp, bad as number)).status).toBe(400);

    const device = devices.track(await TestDevice.connect(imp, { heartbeatMs: HEARTBEAT_MS }));
    expect((await setPresence(imp, 0)).status).toBe(200);
    expect((await status(imp)).presenceTimeoutS).toBe(0);
    expect(await alarmOf(imp)).toBeNull();
    await sleep(1500);
    expect((await status(imp)).online).toBe(true);
    // And back to the default.
    expect(await (await setPresence(imp, null)).json()).toMatchObject({ presenceTimeoutS: 45 });
    expect(await within(1, device.closed).catch(() => "open")).toBe("open");
  });
});
