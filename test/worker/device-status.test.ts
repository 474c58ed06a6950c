import { describe, expect, it } from "vitest";
import type { ImpStatus } from "../../protocol/admin-api.ts";
import { encodeFrame } from "../../protocol/index.ts";
import { admin, callerFetch, createImp, TestDevice, within } from "./helpers.ts";

async function status(impId: string): Promise<ImpStatus> {
  const res = await admin(`/imps/${impId}`);
  expect(res.status).toBe(200);
  return res.json<ImpStatus>();
}

describe("device status", () => {
  it("shows a device that never connected as offline and never seen", async () => {
    const imp = await createImp();
    expect(await status(imp.impId)).toMatchObject({ online: false, connectedSince: null, lastSeen: null, deviceAgent: null, rttMs: null });
  });

  it("shows the daemon, since when it is connected, its heartbeats and the round trip it reports", async () => {
    const imp = await createImp();
    const before = Date.now();
    const device = await TestDevice.connect(imp);
    try {
      const s = await status(imp.impId);
      expect(s).toMatchObject({ online: true, deviceAgent: "test-device", rttMs: null });
      expect(s.connectedSince).toBeGreaterThanOrEqual(before);

      // A heartbeat is answered by the runtime; its time still shows as last seen.
      const pinged = Date.now();
      const pong = new Promise<void>((resolve) => device.ws.addEventListener("message", (e) => e.data === "pong" && resolve()));
      device.send("ping");
      await within(2000, pong, "pong");
      expect((await status(imp.impId)).lastSeen).toBeGreaterThanOrEqual(pinged);

      device.send(encodeFrame({ t: "health", rttMs: 42.4 }));
      await within(
        2000,
        (async () => {
          while ((await status(imp.impId)).rttMs !== 42) await new Promise((r) => setTimeout(r, 20));
        })(),
      );
    } finally {
      device.close();
    }
  });

  it("keeps when an offline device was last seen, and what it last reported", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    device.send(encodeFrame({ t: "health", rttMs: 7 }));
    await within(
      2000,
      (async () => {
        while ((await status(imp.impId)).rttMs !== 7) await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    const closing = Date.now();
    device.close();
    await device.closed;
    let s = await status(imp.impId);
    for (let i = 0; i < 100 && s.online; i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = await status(imp.impId);
    }
    expect(s).toMatchObject({ online: false, connectedSince: null, deviceAgent: "test-device", rttMs: 7 });
    expect(s.lastSeen).toBeGreaterThanOrEqual(closing);
  });

  it("counts the messages waiting for the device", async () => {
    const imp = await createImp();
    for (let i = 0; i < 3; i++) await callerFetch(imp, "/_messages", { method: "POST", body: "x" });
    const s = await status(imp.impId);
    expect(s.queuedMessages).toBe(3);
    expect(s.oldestQueuedAt).toBeGreaterThan(0);
  });
});
