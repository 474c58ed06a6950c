/** What agent code can do — the device (messages, requests), events, state, logs. */
import { afterEach, describe, expect, it } from "vitest";
import { admin, agentLogs, callerFetch, createImp, deployAgent, eventually, TestDevice, within } from "./helpers.ts";

describe("the agent API", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("device.send queues a message with the queue's TTL and delivery, online or not", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        return Response.json(await env.device.send("open-door", { door: 1 }, { ttl: 600 }));
      },
    };`,
    );
    const res = await callerFetch(imp, "/open", { method: "POST" });
    expect(res.status).toBe(200);
    const sent = await res.json<{ id: string; status: string; expiresAt: number }>();
    expect(sent.status).toBe("queued");
    expect(sent.expiresAt - Date.now()).toBeGreaterThan(590_000);
    // The same queue callers see: status by id, then delivery once the device connects.
    expect(await (await callerFetch(imp, `/_messages/${sent.id}`)).json()).toMatchObject({ status: "queued", name: "open-door" });
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const { msg, payload } = await device.nextOf("msg");
    expect(msg).toMatchObject({ id: sent.id, name: "open-door", contentType: "application/json" });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ door: 1 });
    device.ack(msg.id);
    await eventually(
      "delivered",
      async () => (await (await callerFetch(imp, `/_messages/${sent.id}`)).json<{ status: string }>()).status === "delivered",
    );
  });

  it("device.send refuses what the queue refuses, as an error the code can catch", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        const tries = [() => env.device.send("-bad name"), () => env.device.send("x", "y", { ttl: 0.5 }), () => env.device.send("x", "z".repeat(70000))];
        const errors = [];
        for (const t of tries) { try { await t(); errors.push("accepted"); } catch (e) { errors.push(e.message); } }
        return Response.json(errors);
      },
    };`,
    );
    const errors = await (await callerFetch(imp, "/")).json<string[]>();
    expect(errors[0]).toMatch(/^bad_name: /);
    expect(errors[1]).toMatch(/^bad_ttl: /);
    expect(errors[2]).toMatch(/data exceeds 65536 bytes/);
  });

  it("device.request reaches the device with the relay's semantics, and 503 when it is offline", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        const res = await env.device.request("/door?which=left", { method: "post", body: JSON.stringify({ action: "open" }) });
        return new Response("device said " + res.status + ": " + await res.text(), { status: res.ok ? 200 : 502 });
      },
    };`,
    );
    const tooBig = await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        try { await env.device.request("/x", { method: "POST", body: new Uint8Array(2 * 1024 * 1024) }); return new Response("sent"); }
        catch (e) { return new Response(e.name + ": " + e.message); }
      },
    };`,
    );
    expect(tooBig.version).toBe(2);
    expect(await (await callerFetch(imp, "/")).text()).toBe("TypeError: device.request: body exceeds 1048576 bytes");
    await admin(`/imps/${imp.impId}/agent/rollback`, { method: "POST", body: "{}" });
    const offline = await callerFetch(imp, "/open");
    expect(offline.status).toBe(502);
    expect(await offline.text()).toMatch(/^device said 503: .*device_offline/);

    const device = await TestDevice.connect(imp);
    devices.push(device);
    device.serve((req, body) => ({
      status: 201,
      headers: [["content-type", "text/plain"]],
      body: `${req.method} ${req.path}${req.query} ${new TextDecoder().decode(body)}`,
    }));
    const res = await callerFetch(imp, "/open");
    expect(await res.text()).toBe('device said 201: POST /door?which=left {"action":"open"}');
    expect(device.requests[0]!.headers).toContainEqual(["content-type", "text/plain;charset=UTF-8"]);
  });

  it("device.request hands the device the canonical path, and refuses a path that has none", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        const ok = await env.device.request("/a//%7Eb/%2e/c?x=%2f");
        let refused = "accepted";
        try { await env.device.request("/%zz"); } catch (e) { refused = e.name + ": " + e.message; }
        return new Response(ok.status + " " + refused);
      },
    };`,
    );
    const device = await TestDevice.connect(imp);
    devices.push(device);
    device.serve(() => ({ status: 204 }));
    expect(await (await callerFetch(imp, "/")).text()).toBe("204 TypeError: device.request: path malformed percent-encoding");
    expect(device.requests.map((r) => [r.path, r.query])).toEqual([["/a/~b/c", "?x=%2f"]]);
  });

  it("keeps state in the imp's store, the same one the _state API shows", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env) {
        const n = ((await env.state.get("count")) ?? 0) + 1;
        await env.state.put("count", n);
        await env.state.put("scratch", [1]);
        const removed = await env.state.delete("scratch");
        let refused = null;
        try { await env.state.put("big", "x".repeat(17000)); } catch (e) { refused = e.message; }
        return Response.json({ n, removed, missing: await env.state.get("nope"), all: await env.state.list(), refused });
      },
    };`,
    );
    await callerFetch(imp, "/");
    const second = await (await callerFetch(imp, "/")).json<Record<string, unknown>>();
    expect(second).toMatchObject({ n: 2, removed: true, all: { count: 2 } });
    expect(second).not.toHaveProperty("missing");
    expect(second.refused).toMatch(/^value_too_large: /);
    expect(await (await callerFetch(imp, "/_state/count")).json()).toMatchObject({ value: 2 });
  });

  it("hands each device event to onDeviceEvent once, in order, after the device has its ack", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async onDeviceEvent(event, env) {
        // Slow on purpose: the device's ack must not wait for this.
        await scheduler.wait(1000);
        const seen = (await env.state.get("seen")) ?? [];
        const data = event.data instanceof Uint8Array ? { bytes: [...event.data] } : event.data;
        seen.push({ name: event.name, data });
        await env.state.put("seen", seen);
      },
    };`,
    );
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const started = Date.now();
    const id = crypto.randomUUID();
    expect((await device.event("temperature", { c: 21.5 }, id)).msg.t).toBe("ack");
    expect(Date.now() - started).toBeLessThan(800);
    // The same event again (its ack was lost, say) is stored once and handled once.
    expect((await device.event("temperature", { c: 21.5 }, id)).msg.t).toBe("ack");
    await device.event("blob", new Uint8Array([1, 2, 3]));
    const seen = await eventually(
      "both events handled",
      async () => {
        const res = await callerFetch(imp, "/_state/seen");
        const value = res.status === 200 ? (await res.json<{ value: unknown[] }>()).value : [];
        return value.length >= 2 && value;
      },
      8000,
    );
    expect(seen).toEqual([
      { name: "temperature", data: { c: 21.5 } },
      { name: "blob", data: { bytes: [1, 2, 3] } },
    ]);
  });

  it("writes console output to the agent log the operator reads, newest last", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      async fetch(request, env, ctx) {
        console.log("hello", { from: new URL(request.url).pathname });
        console.warn("careful");
        ctx.waitUntil(scheduler.wait(100).then(() => console.info("after the response")));
        return new Response("ok");
      },
    };`,
    );
    expect(await (await callerFetch(imp, "/a")).text()).toBe("ok");
    const logs = await eventually("the waitUntil line", async () => {
      const l = await agentLogs(imp);
      return l.some((e) => e.message === "after the response") && l;
    });
    const mine = logs.filter((l) => l.source === "agent").map((l) => [l.level, l.message, l.version]);
    expect(mine).toEqual([
      ["log", 'hello {"from":"/a"}', 1],
      ["warn", "careful", 1],
      ["info", "after the response", 1],
    ]);
    const page = await (await admin(`/imps/${imp.impId}/agent/logs?after=${logs.at(-2)!.seq}`)).json<{
      entries: unknown[];
      cursor: number;
    }>();
    expect(page.entries).toHaveLength(1);
    expect(page.cursor).toBe(logs.at(-1)!.seq);
  });

  it("gives the code the authenticated credential and the caller's address, which a caller cannot forge", async () => {
    const imp = await createImp();
    await deployAgent(
      imp,
      `export default {
      fetch(request) {
        return Response.json({ cred: request.headers.get("impgate-credential"), client: request.headers.get("impgate-client"), auth: request.headers.get("authorization") });
      },
    };`,
    );
    const res = await within(
      5000,
      callerFetch(imp, "/", { headers: { "impgate-credential": "admin", "cf-connecting-ip": "198.51.100.7" } }),
    );
    const seen = await res.json<{ cred: string; client: string; auth: string | null }>();
    expect(seen.cred).not.toBe("admin");
    expect(seen.cred).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(seen.client).toBe("198.51.100.7");
    expect(seen.auth).toBeNull();
  });
});
