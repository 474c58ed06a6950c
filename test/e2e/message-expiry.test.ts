/**
 * "An expired message is never delivered", tried as a caller would: a message with
 * ttl=1 queued behind a slow one. The edge sends up to 16 messages ahead, so it reaches
 * the daemon while still live; it must expire there unhandled, never reach the local
 * service, and its status must stay "expired".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalService, startLocalService } from "../helpers/local-service.ts";
import { type CreatedImp, callerRequest, createImp, type System, startDaemon, startSystem } from "../helpers/system.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe("message TTL on the device, end to end", () => {
  let system: System;
  let service: LocalService;
  let releaseSlow = () => {};
  beforeAll(async () => {
    system = await startSystem();
    // Holds the message named "slow" until the test releases it: the daemon handles one at a time.
    service = await startLocalService((req, res) => {
      if (req.url.endsWith("/slow")) {
        releaseSlow = () => {
          releaseSlow = () => {};
          res.writeHead(204).end();
        };
        return;
      }
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    releaseSlow();
    await service?.close();
    await system?.stop();
  });

  async function post(imp: CreatedImp, query: string): Promise<string> {
    const res = await callerRequest(system, imp, `/_messages?${query}`, { method: "POST", body: query });
    expect(res.status).toBe(202);
    return (JSON.parse(res.body.toString()) as { id: string }).id;
  }

  async function statusOf(imp: CreatedImp, id: string): Promise<string> {
    return (JSON.parse((await callerRequest(system, imp, `/_messages/${id}`)).body.toString()) as { status: string }).status;
  }

  it("never hands a message whose TTL ran out behind a slow one to the local service, and it stays expired", async () => {
    const imp = await createImp(system, "ttl");
    const daemon = startDaemon(imp.config, ["--forward", service.url]);
    try {
      await daemon.waitReady();
      const slow = await post(imp, "name=slow");
      const short = await post(imp, "name=short&ttl=1");
      const after = await post(imp, "name=after");
      await until("the slow message at the local service", () => service.received.some((r) => r.url.endsWith("/slow")));
      await sleep(1200);
      expect(await statusOf(imp, short)).toBe("expired");

      releaseSlow();
      await until("the message behind it", () => service.received.some((r) => r.url.endsWith("/after")));
      await until("delivered", async () => (await statusOf(imp, after)) === "delivered");
      await sleep(300);
      expect(service.received.map((r) => r.url)).toEqual(["/_impgate/messages/slow", "/_impgate/messages/after"]);
      expect(await statusOf(imp, slow)).toBe("delivered");
      expect(await statusOf(imp, short)).toBe("expired");
      expect(await daemon.waitFor((l) => l.msg === "message expired before its handler could run; dropped unhandled")).toMatchObject({
        id: short,
        name: "short",
      });
    } finally {
      await daemon.stop();
    }
  });
});
