/** The edge restarted while messages flow: delivery resumes where it stopped, each message handled once. */
import { describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { idOf, messageStatus, redelivered, sendNumbered } from "../helpers/messages.ts";

describe("message delivery across an edge restart, end to end", () => {
  const e2e = useSystem();

  it("resumes where it stopped after the edge restarts mid-stream, without the daemon's help", async () => {
    // Message 60's answer is held back: the daemon is inside its handler when the edge goes away.
    const held: (() => void)[] = [];
    e2e.defer(() => {
      for (const release of held) release();
    });
    const service = await e2e.service((req, res) => {
      if (req.body.toString() === "60") held.push(() => res.writeHead(204).end());
      else res.writeHead(204).end();
    });
    const { imp, daemon } = await e2e.device("edge-restart", { service, edit: (c) => ({ ...c, reconnect: { baseMs: 50, maxMs: 300 } }) });
    const ids = await sendNumbered(e2e, imp, 120);
    await eventually(() => held.length === 1, { timeout: 30_000, what: "message 60 held at the service" });
    await e2e.system.restartEdge(async () => {
      for (const release of held.splice(0)) release();
      await daemon.waitFor((l) => l.msg === "disconnected", 10_000, "disconnect");
    });
    await daemon.waitReady(60_000, 1);
    await eventually(() => new Set(service.received.map(idOf)).size === 120, {
      timeout: 60_000,
      what: "all 120 messages at the local service",
    });
    // Delivery picked up after 60; 60 was finished on the device, so the edge's re-send was only acknowledged.
    expect(service.received.map(idOf)).toEqual(ids);
    expect(service.received.some(redelivered)).toBe(false);
    const last = ids.at(-1) ?? "";
    await eventually(async () => (await messageStatus(e2e, imp, last)) === "delivered", {
      timeout: 30_000,
      what: "the last message delivered",
    });
  }, 180_000);
});
