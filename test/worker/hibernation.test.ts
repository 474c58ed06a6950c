import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { CloseCode } from "../../protocol/index.ts";
import { admin, callerFetch, createImp, TestDevice, type TestImp, within } from "./helpers.ts";

async function send(imp: TestImp, body: string): Promise<string> {
  const res = await callerFetch(imp, "/_messages?name=cmd", { method: "POST", body });
  expect(res.status).toBe(202);
  return (await res.json<{ id: string }>()).id;
}

async function waitForStatus(imp: TestImp, id: string, want: string): Promise<void> {
  await within(
    3000,
    (async () => {
      while ((await (await callerFetch(imp, `/_messages/${id}`)).json<{ status: string }>()).status !== want) {
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    `message ${want}`,
  );
}

describe("the imp's object evicted with the device socket hibernated", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("keeps the session: a message in flight is acknowledged, new ones and requests still reach the device", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const first = await send(imp, "before");
    expect((await device.nextOf("msg")).msg.id).toBe(first);
    await runInDurableObject(stub, (instance: ImpSession) => Object.assign(instance, { beforeEviction: true }));

    await evictDurableObject(stub);

    // The ack wakes a fresh instance, which finds the socket and its state in the attachment.
    device.ack(first);
    await waitForStatus(imp, first, "delivered");
    const second = await send(imp, "after");
    const { msg } = await device.nextOf("msg");
    expect(msg.id).toBe(second);
    // Not re-sent: the socket remembered what it had already been sent.
    expect(device.messages.map((m) => m.msg.id)).toEqual([first, second]);
    device.ack(second);
    await waitForStatus(imp, second, "delivered");

    device.serve(() => ({ status: 200, body: "still here" }));
    expect(await (await callerFetch(imp, "/x")).text()).toBe("still here");
    expect(
      await within(200, device.closed).then(
        () => "closed",
        () => "open",
      ),
    ).toBe("open");
    // And it really was a fresh instance that did all this.
    expect(await runInDurableObject(stub, (instance: ImpSession) => "beforeEviction" in instance)).toBe(false);
  });

  it("keeps the queue and its alarm while the device is away", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const ids = [await send(imp, "a"), await send(imp, "b")];
    const alarm = await runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm());
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm())).toBe(alarm);

    const device = await TestDevice.connect(imp);
    devices.push(device);
    for (const id of ids) {
      const { msg } = await device.nextOf("msg");
      expect(msg.id).toBe(id);
      device.ack(id);
    }
    await waitForStatus(imp, ids[1]!, "delivered");
  });

  it("keeps events and agent state", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const device = await TestDevice.connect(imp);
    devices.push(device);
    await device.event("temp", 20);
    await callerFetch(imp, "/_state/mode", { method: "PUT", body: '"eco"' });
    await evictDurableObject(stub);
    const events = await (await callerFetch(imp, "/_events")).json<{ latest: Record<string, { data: unknown }> }>();
    expect(events.latest.temp!.data).toBe(20);
    expect((await (await callerFetch(imp, "/_state/mode")).json<{ value: unknown }>()).value).toBe("eco");
    expect((await device.event("temp", 21)).msg.t).toBe("ack");
  });

  it("lets an idle, connected imp be evicted between presence checks: each check wakes a fresh instance, and finds a silent device", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const device = await TestDevice.connect(imp, { heartbeatMs: 500 });
    devices.push(device);
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ presenceTimeoutS: 1 }) });
    // Heartbeats are answered by the runtime: they never wake the object.
    const stopPinging = device.heartbeat(200);
    const alarmAt = () => runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm());
    const marked = () => runInDurableObject(stub, (instance: ImpSession) => "beforeEviction" in instance);
    try {
      for (let check = 0; check < 2; check++) {
        const due = await alarmAt();
        expect(due).not.toBeNull();
        await runInDurableObject(stub, (instance: ImpSession) => Object.assign(instance, { beforeEviction: true }));
        await evictDurableObject(stub);
        // Nothing touches the object until its presence check has run on a fresh instance.
        await new Promise((r) => setTimeout(r, (due ?? 0) - Date.now() + 300));
        expect(await marked()).toBe(false);
        expect(await alarmAt()).toBeGreaterThan(due ?? 0);
        expect((await (await admin(`/imps/${imp.impId}`)).json<{ online: boolean }>()).online).toBe(true);
      }
    } finally {
      stopPinging();
    }
    // Silent now: the next check, again on a fresh instance, takes it offline, and no alarm is left for it.
    await runInDurableObject(stub, (instance: ImpSession) => Object.assign(instance, { beforeEviction: true }));
    await evictDurableObject(stub);
    expect((await within(4000, device.closed)).code).toBe(CloseCode.silent);
    expect(await marked()).toBe(false);
    expect(await alarmAt()).toBeNull();
  });
});
