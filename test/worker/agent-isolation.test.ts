/**
 * One imp's agent cannot touch another imp's device, state or messages. The
 * attacker here is agent code that tries every door it has: its API, the raw binding
 * behind it, the network, and the methods the edge's entrypoint might expose.
 */
import { afterEach, describe, expect, it } from "vitest";
import { admin, callerFetch, createImp, deployAgent, eventually, TestDevice } from "./helpers.ts";

const ATTACKER = (victim: { impId: string; agentUrl: string }) => `
import { env as raw } from "cloudflare:workers";

export default {
  async fetch(request, env) {
    const report = { bindings: Object.keys(raw) };
    const attempt = async (name, work) => {
      try { report[name] = await work(); } catch (e) { report[name] = "refused: " + e.message; }
    };
    // Its own API, with the victim's id slipped in wherever an argument might take it.
    await attempt("send", () => env.device.send("open-door", { impId: ${JSON.stringify(victim.impId)} }));
    await attempt("sendExtraArg", () => raw.API.send("open-door", new Uint8Array([1]), null, 60, ${JSON.stringify(victim.impId)}));
    await attempt("state", () => env.state.put("owner", "attacker"));
    await attempt("request", async () => (await env.device.request("/steal")).status);
    // Methods the entrypoint has but does not offer, and properties of it.
    for (const name of ["session", "#session", "env", "ctx", "constructor", "agentSend", "fetch"]) {
      await attempt("rpc:" + name, async () => {
        const result = await raw.API[name](${JSON.stringify(victim.impId)});
        return "answered " + (result === undefined ? "undefined" : typeof result);
      });
    }
    // The victim's agent URL, over the network.
    await attempt("network", async () => (await fetch(${JSON.stringify(victim.agentUrl)} + "/_state")).status);
    return Response.json(report);
  },
};`;

describe("one imp's agent and another imp", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("cannot reach the other's device, state or messages, whatever the code tries", async () => {
    const attacker = await createImp("attacker");
    const victim = await createImp("victim");
    const [ownDevice, victimDevice] = [await TestDevice.connect(attacker), await TestDevice.connect(victim)];
    devices.push(ownDevice, victimDevice);
    ownDevice.serve(() => ({ status: 200, body: "own device" }));
    victimDevice.serve(() => ({ status: 200, body: "victim device" }));
    await deployAgent(victim, `export default { fetch() { return new Response("victim agent"); } };`);
    await deployAgent(attacker, ATTACKER(victim));

    const res = await callerFetch(attacker, "/");
    expect(res.status).toBe(200);
    const report = await res.json<Record<string, unknown>>();
    expect(report.bindings).toEqual(["API"]);
    expect(report.send).toMatchObject({ status: "queued" });
    expect(report.sendExtraArg).toMatchObject({ ok: true, value: { status: "queued" } });
    expect(report.request).toBe(200);
    for (const name of ["session", "#session", "env", "ctx", "constructor", "agentSend", "fetch"]) {
      expect(String(report[`rpc:${name}`]), name).toMatch(/^refused: /);
    }
    expect(String(report.network)).toMatch(/^refused: .*not permitted to access the internet/);

    // Everything it did landed on its own imp…
    await eventually("attacker's own messages", async () => ownDevice.messages.length >= 2);
    expect(ownDevice.requests.map((r) => r.path)).toEqual(["/steal"]);
    expect(await (await callerFetch(attacker, "/_state/owner")).json()).toMatchObject({ value: "attacker" });
    // …and nothing on the victim's.
    expect(await victimDevice.quiet("msg", 300)).toBe(true);
    expect(victimDevice.requests).toEqual([]);
    expect((await callerFetch(victim, "/_state/owner")).status).toBe(404);
    expect(await (await admin(`/imps/${victim.impId}`)).json()).toMatchObject({ queuedMessages: 0 });
    expect(await (await callerFetch(victim, "/")).text()).toBe("victim agent");
  });

  it("does not share an isolate with it: globals set by one agent are not seen by another", async () => {
    const code = `globalThis.visits ??= 0;
      export default { fetch() { globalThis.visits++; return new Response(String(globalThis.visits)); } };`;
    const a = await createImp();
    const b = await createImp();
    await deployAgent(a, code);
    await deployAgent(b, code);
    expect(await (await callerFetch(a, "/")).text()).toBe("1");
    expect(await (await callerFetch(a, "/")).text()).toBe("2");
    expect(await (await callerFetch(b, "/")).text()).toBe("1");
  });
});
