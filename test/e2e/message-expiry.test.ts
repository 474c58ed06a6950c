/**
 * "An expired message is never delivered", tried as a caller would: a message with
 * ttl=1 queued behind a slow one. The edge sends up to 16 messages ahead, so it reaches
 * the daemon while still live; it must expire there unhandled, never reach the local
 * service, and its status must stay "expired".
 */
import { describe, expect, it } from "vitest";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { CreatedImp } from "../helpers/system.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("message TTL on the device, end to end", () => {
  const e2e = useSystem();

  async function post(imp: CreatedImp, query: string): Promise<string> {
    const res = await e2e.call(imp, `/_messages?${query}`, { method: "POST", body: query });
    expect(res.status).toBe(202);
    return (JSON.parse(res.body.toString()) as { id: string }).id;
  }

  async function statusOf(imp: CreatedImp, id: string): Promise<string> {
    return (JSON.parse((await e2e.call(imp, `/_messages/${id}`)).body.toString()) as { status: string }).status;
  }

  it("never hands a message whose TTL ran out behind a slow one to the local service, and it stays expired", async () => {
    // Holds the message named "slow" until the test releases it: the daemon handles one at a time.
    let releaseSlow = () => {};
    const service = await e2e.service((req, res) => {
      if (req.url.endsWith("/slow")) {
        releaseSlow = () => {
          releaseSlow = () => {};
          res.writeHead(204).end();
        };
        return;
      }
      res.writeHead(204).end();
    });
    e2e.defer(() => releaseSlow());
    const { imp, daemon } = await e2e.device("ttl", { service });
    const slow = await post(imp, "name=slow");
    const short = await post(imp, "name=short&ttl=1");
    const after = await post(imp, "name=after");
    await eventually(() => service.received.some((r) => r.url.endsWith("/slow")), { timeout: 15_000, what: "the slow message" });
    // Its one second runs out while the slow one is being handled: the daemon drops it and
    // says so at once (counted from its arrival), and only then does the edge call it expired.
    await eventually(async () => (await statusOf(imp, short)) === "expired", { timeout: 5_000, what: "the short message expired" });

    releaseSlow();
    await eventually(async () => (await statusOf(imp, after)) === "delivered", {
      timeout: 15_000,
      what: "the message behind it delivered",
    });
    expect(service.received.map((r) => r.url)).toEqual(["/_impgate/messages/slow", "/_impgate/messages/after"]);
    expect(await statusOf(imp, slow)).toBe("delivered");
    expect(await statusOf(imp, short)).toBe("expired");
    expect(await daemon.waitFor((l) => l.msg === "message expired while it waited; dropped unhandled")).toMatchObject({
      id: short,
      name: "short",
    });
  });

  it("never calls a message expired while the device may still run it: one in transit at its expiry is the device's to settle", async () => {
    // The daemon counts a message's TTL from the frame's arrival. Frozen (SIGSTOP) for longer
    // than the TTL but not so long that its heartbeat gives the link up, it reads the frame
    // after the edge's expiresAt and still runs it: the edge must not have said "expired".
    const service = await e2e.service((_req, res) => void res.writeHead(204).end());
    const { imp, daemon } = await e2e.device("transit", {
      service,
      edit: (c) => ({ ...c, heartbeat: { intervalMs: 2_000, timeoutMs: 4_000 } }),
    });
    const pid = daemon.child.pid ?? 0;
    process.kill(-pid, "SIGSTOP");
    let frozen = true;
    e2e.defer(() => frozen && process.kill(-pid, "SIGCONT"));
    const id = await post(imp, "name=in-transit&ttl=1");
    const seen = new Set<string>();
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      seen.add(await statusOf(imp, id));
      await sleep(100);
    }
    process.kill(-pid, "SIGCONT");
    frozen = false;
    const final = await eventually(async () => ((s) => (s === "queued" ? null : s))(await statusOf(imp, id)), {
      timeout: 15_000,
      what: "the device's word on the message",
    });
    seen.add(final);
    // The link outlived the freeze (2.5 s, within its heartbeat's 6 s), so the daemon ran the
    // message, its TTL counted from the frame's arrival: the status must say delivered, and
    // must never have said expired.
    expect(service.received.map((r) => r.url)).toEqual(["/_impgate/messages/in-transit"]);
    expect(final).toBe("delivered");
    expect([...seen]).toEqual(["queued", "delivered"]);
  });
});
