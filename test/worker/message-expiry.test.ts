import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { MessageQueue, UNANSWERED_MS } from "../../durable-objects/message-queue.ts";
import { encodeFrame } from "../../protocol/index.ts";
import { admin, callerFetch, createImp, TestDevice, type TestImp } from "./helpers.ts";

async function send(imp: TestImp, query = ""): Promise<Response> {
  return callerFetch(imp, `/_messages?name=n${query}`, { method: "POST", body: "data" });
}

function row(imp: TestImp, id: string) {
  return runInDurableObject(env.IMP.getByName(imp.impId), (_: ImpSession, state) =>
    state.storage.sql.exec<{ state: string; data: ArrayBuffer | null }>("SELECT state, data FROM messages WHERE id = ?", id).one(),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("message TTL and queue bound", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("drops a message whose TTL passed with the alarm, and never delivers it", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const { id, expiresAt } = await (await send(imp, "&ttl=1")).json<{ id: string; expiresAt: number }>();
    expect(await runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm())).toBe(expiresAt);

    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    await runDurableObjectAlarm(stub);
    // Only the alarm marks a message expired, and it drops the data.
    expect(await row(imp, id)).toEqual({ state: "expired", data: null });
    const status = await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string; expiredAt: number }>();
    expect(status).toMatchObject({ status: "expired", expiredAt: expiresAt });

    const device = await TestDevice.connect(imp);
    devices.push(device);
    expect(await device.quiet("msg")).toBe(true);
  });

  it("does not deliver a message whose TTL passed even if the alarm has not run yet", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const { id, expiresAt } = await (await send(imp, "&ttl=1")).json<{ id: string; expiresAt: number }>();
    await runInDurableObject(stub, (_: ImpSession, state) => state.storage.deleteAlarm());
    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    const device = await TestDevice.connect(imp);
    devices.push(device);
    expect(await device.quiet("msg")).toBe(true);
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("expired");
  });

  it("sends the message's expiry in its frame, so the device can drop it once it runs out", async () => {
    const imp = await createImp();
    const { id, expiresAt } = await (await send(imp, "&ttl=600")).json<{ id: string; expiresAt: number }>();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const { msg } = await device.nextOf("msg");
    expect(msg).toMatchObject({ id, expiresAt });
    expect(msg.expiresIn).toBeGreaterThan(590_000);
    expect(msg.expiresIn).toBeLessThanOrEqual(600_000);
  });

  it("never reports a message it sent as expired while the device may still run it: the device's ack decides", async () => {
    // The device counts the TTL from the frame's arrival, a transit after the edge sent it:
    // a handler may start after expiresAt. Reporting "expired" then would be a lie.
    const imp = await createImp();
    const { id, expiresAt } = await (await send(imp, "&ttl=1")).json<{ id: string; expiresAt: number }>();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    await device.nextOf("msg");
    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    await runDurableObjectAlarm(env.IMP.getByName(imp.impId));
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("queued");
    device.ack(id);
    expect(await device.quiet("error")).toBe(true);
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("delivered");
    await runDurableObjectAlarm(env.IMP.getByName(imp.impId));
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("delivered");
  });

  it("sends an unanswered message again with no time left when the device returns, and its expired ack settles it", async () => {
    const imp = await createImp();
    const { id, expiresAt } = await (await send(imp, "&ttl=1")).json<{ id: string; expiresAt: number }>();
    const first = await TestDevice.connect(imp);
    devices.push(first);
    await first.nextOf("msg");
    first.close();
    await first.closed;
    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    await runDurableObjectAlarm(env.IMP.getByName(imp.impId));
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("queued");

    const again = await TestDevice.connect(imp);
    devices.push(again);
    const { msg } = await again.nextOf("msg");
    expect(msg).toMatchObject({ id, expiresIn: 0 });
    again.send(encodeFrame({ t: "ack", id, expired: true }));
    expect(await again.quiet("error")).toBe(true);
    const status = await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string; expiredAt: number }>();
    expect(status).toMatchObject({ status: "expired", expiredAt: expiresAt });
    expect(await row(imp, id)).toEqual({ state: "expired", data: null });
    // A status once expired never changes, whatever the device says later.
    again.ack(id);
    await sleep(50);
    expect(await row(imp, id)).toEqual({ state: "expired", data: null });
  });

  it("expires a sent message unanswered a day after its TTL if the device never comes back", async () => {
    const imp = await createImp();
    const { id } = await (await send(imp, "&ttl=1")).json<{ id: string }>();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    await device.nextOf("msg");
    device.close();
    await device.closed;
    const stub = env.IMP.getByName(imp.impId);
    const states = await runInDurableObject(stub, (_: ImpSession, state) => {
      const queue = new MessageQueue(state.storage.sql);
      const read = () => state.storage.sql.exec<{ state: string }>("SELECT state FROM messages WHERE id = ?", id).one().state;
      queue.runDue(Date.now() + 2_000 + UNANSWERED_MS - 5_000);
      const before = read();
      queue.runDue(Date.now() + 2_000 + UNANSWERED_MS);
      return [before, read()];
    });
    expect(states).toEqual(["queued", "expired"]);
  });

  it("records a message the device dropped as expired, never as delivered", async () => {
    const imp = await createImp();
    const { id } = await (await send(imp, "&ttl=600")).json<{ id: string }>();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    await device.nextOf("msg");
    device.send(encodeFrame({ t: "ack", id, expired: true }));
    expect(await device.quiet("error")).toBe(true);
    expect((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status).toBe("expired");
    // A later plain ack (a confused or replaying device) does not turn it into "delivered".
    device.ack(id);
    await sleep(50);
    expect(await row(imp, id)).toEqual({ state: "expired", data: null });
  });

  it("refuses a message beyond the queue limit with 507, and accepts again once the device catches up", async () => {
    const imp = await createImp();
    const patched = await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit: 3 }) });
    expect(await patched.json()).toMatchObject({ queueLimit: 3, queuedMessages: 0 });
    for (let i = 0; i < 3; i++) expect((await send(imp)).status).toBe(202);
    const full = await send(imp);
    expect(full.status).toBe(507);
    expect((await full.json<{ error: { code: string } }>()).error.code).toBe("queue_full");
    expect(await (await admin(`/imps/${imp.impId}`)).json()).toMatchObject({ queuedMessages: 3 });

    // The refused message left the accepted ones untouched; delivering one makes room.
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const first = await device.nextOf("msg");
    device.ack(first.msg.id);
    await device.nextOf("msg");
    await device.nextOf("msg");
    let res = await send(imp);
    for (let i = 0; i < 50 && res.status === 507; i++) {
      await sleep(20);
      res = await send(imp);
    }
    expect(res.status).toBe(202);
  });

  it("does not count expired messages against the limit", async () => {
    const imp = await createImp();
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit: 1 }) });
    const { expiresAt } = await (await send(imp, "&ttl=1")).json<{ expiresAt: number }>();
    expect((await send(imp)).status).toBe(507);
    await sleep(Math.max(0, expiresAt - Date.now()) + 50);
    expect((await send(imp)).status).toBe(202);
  });

  it("forgets a finished message's status a day after it finished", async () => {
    const imp = await createImp();
    const { id } = await (await send(imp, "&ttl=1")).json<{ id: string }>();
    const stub = env.IMP.getByName(imp.impId);
    await runInDurableObject(stub, (_: ImpSession, state) => {
      // The alarm's work on the imp's own queue, as if two later alarms had run.
      const queue = new MessageQueue(state.storage.sql);
      queue.runDue(Date.now() + 2_000);
      queue.runDue(Date.now() + 2_000 + 24 * 60 * 60_000 + 1);
    });
    expect((await callerFetch(imp, `/_messages/${id}`)).status).toBe(404);
  });

  it("rejects a queue limit out of range", async () => {
    const imp = await createImp();
    for (const queueLimit of [0, 10_001, 1.5, "5"]) {
      expect((await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit }) })).status).toBe(400);
    }
  });
});
