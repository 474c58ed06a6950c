/**
 * Agent code that throws, hangs, runs away or answers too much gets a clean
 * JSON error for that request, a line in its log and an audit entry, and no other imp
 * notices. Not here: code that never yields (a CPU loop, or a tight loop over the agent
 * API, which local workerd completes without ever returning to its event loop). On
 * Cloudflare `limits.cpuMs` stops it; local workerd enforces no limits and runs every
 * isolate on one thread, so such a loop stalls the whole local runtime (README,
 * "Programmable agents").
 */
import { afterEach, describe, expect, it } from "vitest";
import { admin, agentLogs, auditEvents, callerFetch, createImp, deployAgent, eventually, TestDevice, type TestImp } from "./helpers.ts";

async function error(res: Response): Promise<{ code: string; message: string }> {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json<{ error: { code: string; message: string } }>()).error;
}

async function withAgent(code: string): Promise<TestImp> {
  const imp = await createImp();
  await deployAgent(imp, code);
  return imp;
}

const HEALTHY = `export default { fetch() { return new Response("fine"); } };`;

describe("agent code that fails", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("throws: 500 for that request, the stack in its log, one audit entry however often", async () => {
    const imp = await withAgent(`export default {
      fetch(request) {
        if (new URL(request.url).pathname === "/ok") return new Response("ok");
        throw new RangeError("sensor out of range: secret-value-42");
      },
    };`);
    for (let i = 0; i < 3; i++) {
      const res = await callerFetch(imp, "/boom");
      expect(res.status).toBe(500);
      const body = await error(res);
      expect(body).toEqual({ code: "agent_exception", message: "The agent's code failed" });
    }
    // The same isolate goes on serving.
    expect(await (await callerFetch(imp, "/ok")).text()).toBe("ok");
    const thrown = (await agentLogs(imp)).filter((l) => l.level === "error");
    expect(thrown).toHaveLength(3);
    expect(thrown[0]!.message).toMatch(/^fetch threw: RangeError: sensor out of range: secret-value-42\n\s+at .*agent\.js:\d+:\d+/);
    const audited = (await auditEvents(imp)).filter((e) => e.event === "agent_error");
    expect(audited).toHaveLength(1);
    expect(audited[0]!.detail).toEqual({ handler: "fetch", reason: "exception", version: 1 });
  });

  it("never answers: 500, at once", async () => {
    const imp = await withAgent(`export default { fetch() { return new Promise(() => {}); } };`);
    const started = Date.now();
    const res = await callerFetch(imp, "/");
    expect(res.status).toBe(500);
    expect((await error(res)).code).toBe("agent_hung");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("runs away: 503 at its deadline, its work stops, and other imps are served meanwhile", async () => {
    // An agent that never stops (polling in a loop), with a short request timeout. A loop
    // that never yields to the event loop is CPU exhaustion: see the header.
    const runaway = await withAgent(`export default {
      async fetch(request, env) {
        for (let i = 1; ; i++) {
          await env.state.put("spins", i);
          await scheduler.wait(20);
        }
      },
    };`);
    await admin(`/imps/${runaway.impId}`, { method: "PATCH", body: JSON.stringify({ requestTimeoutMs: 500 }) });
    const neighbour = await withAgent(HEALTHY);
    await callerFetch(neighbour, "/");

    const started = Date.now();
    const stuck = callerFetch(runaway, "/");
    // While it spins, the neighbour answers promptly, again and again.
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      expect(await (await callerFetch(neighbour, "/")).text()).toBe("fine");
      expect(Date.now() - t).toBeLessThan(1500);
    }
    const res = await stuck;
    expect(res.status).toBe(503);
    expect((await error(res)).code).toBe("agent_timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);

    // Cancelled at the deadline: the loop does not go on in the background.
    const spins = async () => (await (await callerFetch(runaway, "/_state/spins")).json<{ value: number }>()).value;
    const before = await spins();
    await new Promise((r) => setTimeout(r, 500));
    expect(await spins()).toBe(before);
    expect((await agentLogs(runaway)).map((l) => l.message)).toContainEqual(expect.stringMatching(/^fetch was cancelled at its deadline/));
    expect((await auditEvents(runaway)).find((e) => e.event === "agent_error")?.detail).toMatchObject({ reason: "timeout" });
  });

  it("answers more than an agent response may hold: 502", async () => {
    const imp = await withAgent(`export default { fetch() { return new Response(new Uint8Array(2 * 1024 * 1024)); } };`);
    const res = await callerFetch(imp, "/");
    expect(res.status).toBe(502);
    expect((await error(res)).code).toBe("agent_response_too_large");
  });

  it("returns something that is not a Response: 500, and the log says so", async () => {
    const imp = await withAgent(`export default { fetch() { return "hello"; } };`);
    expect((await callerFetch(imp, "/")).status).toBe(500);
    expect((await agentLogs(imp)).at(-1)!.message).toMatch(/fetch\(\) must return a Response/);
  });

  it("throws in onDeviceEvent: the device still gets its ack, and the event is stored", async () => {
    const imp = await withAgent(`export default { onDeviceEvent(event) { throw new Error("cannot handle " + event.name); } };`);
    const device = await TestDevice.connect(imp);
    devices.push(device);
    expect((await device.event("door", { open: true })).msg.t).toBe("ack");
    const line = await eventually("the handler's failure in the log", async () => (await agentLogs(imp)).find((l) => l.level === "error"));
    expect(line.message).toMatch(/^onDeviceEvent threw: Error: cannot handle door/);
    const events = await (await callerFetch(imp, "/_events?name=door")).json<{ events: unknown[] }>();
    expect(events.events).toHaveLength(1);
    // An agent without a fetch handler does not take requests.
    const res = await callerFetch(imp, "/");
    expect(res.status).toBe(404);
    expect((await error(res)).code).toBe("no_fetch_handler");
  });
});
