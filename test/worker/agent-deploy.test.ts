/** Deploying agent code, running it, rolling it back, removing it. */
import { afterEach, describe, expect, it } from "vitest";
import { admin, agentLogs, auditEvents, callerFetch, createImp, deployAgent, TestDevice } from "./helpers.ts";

const answering = (word: string) =>
  `export default { async fetch(request) { return new Response("${word} " + new URL(request.url).pathname); } };`;

async function deploy(impId: string, code: string): Promise<Response> {
  return admin(`/imps/${impId}/agent`, { method: "POST", body: JSON.stringify({ code }) });
}

describe("agent code: deploy, run, rollback", () => {
  const devices: TestDevice[] = [];
  afterEach(() => {
    for (const d of devices.splice(0)) d.close();
  });

  it("runs the deployed module for the imp's requests instead of relaying them", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    const deployed = await deployAgent(imp, answering("agent v1"));
    expect(deployed).toMatchObject({ version: 1, handlers: ["fetch"] });
    const res = await callerFetch(imp, "/garage/door?x=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("strict-transport-security")).toBeTruthy();
    expect(await res.text()).toBe("agent v1 /garage/door");
    expect(device.requests).toHaveLength(0);
  });

  it("switches to a new version with the very next request, and rolls back to the previous one", async () => {
    const imp = await createImp();
    await deployAgent(imp, answering("one"));
    expect(await (await callerFetch(imp, "/")).text()).toBe("one /");
    await deployAgent(imp, answering("two"));
    expect(await (await callerFetch(imp, "/")).text()).toBe("two /");

    const back = await admin(`/imps/${imp.impId}/agent/rollback`, { method: "POST", body: "{}" });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ version: 1 });
    expect(await (await callerFetch(imp, "/")).text()).toBe("one /");
    // Forward again, by number.
    expect((await admin(`/imps/${imp.impId}/agent/rollback`, { method: "POST", body: JSON.stringify({ version: 2 }) })).status).toBe(200);
    expect(await (await callerFetch(imp, "/")).text()).toBe("two /");

    const events = (await auditEvents(imp)).map((e) => e.event);
    expect(events.filter((e) => e === "agent_deployed")).toHaveLength(2);
    expect(events.filter((e) => e === "agent_rolled_back")).toHaveLength(2);
  });

  it("keeps the newest five versions and shows them, with the code of each", async () => {
    const imp = await createImp();
    for (let i = 1; i <= 7; i++) await deployAgent(imp, answering(`v${i}`), `release ${i}`);
    const info = await (await admin(`/imps/${imp.impId}/agent`)).json<{
      active: number;
      versions: { version: number; note: string; active: boolean }[];
    }>();
    expect(info.active).toBe(7);
    expect(info.versions.map((v) => v.version)).toEqual([7, 6, 5, 4, 3]);
    expect(info.versions[0]).toMatchObject({ note: "release 7", active: true });
    const v3 = await admin(`/imps/${imp.impId}/agent/versions/3`);
    expect(await v3.json()).toMatchObject({ version: 3, code: answering("v3") });
    expect((await admin(`/imps/${imp.impId}/agent/versions/1`)).status).toBe(404);
    const gone = await admin(`/imps/${imp.impId}/agent/rollback`, { method: "POST", body: JSON.stringify({ version: 1 }) });
    expect(gone.status).toBe(404);
    expect(await (await callerFetch(imp, "/")).text()).toBe("v7 /");
  });

  it("refuses a syntax error at deploy with the compiler's message, and keeps the running version", async () => {
    const imp = await createImp();
    await deployAgent(imp, answering("good"));
    const res = await deploy(imp.impId, "export default {\n  async fetch() {\n    return new Response(;\n  }\n};\n");
    expect(res.status).toBe(400);
    const { error } = await res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe("agent_invalid");
    expect(error.message).toMatch(/^SyntaxError: Unexpected token/);
    expect(error.message).toContain("agent.js:3");
    expect(await (await callerFetch(imp, "/")).text()).toBe("good /");
    const info = await (await admin(`/imps/${imp.impId}/agent`)).json<{ versions: unknown[] }>();
    expect(info.versions).toHaveLength(1);
  });

  it("refuses a module that fails at load or exports no handler, saying why", async () => {
    const imp = await createImp();
    const thrown = await deploy(imp.impId, `throw new Error("no config"); export default { fetch() {} };`);
    expect(await thrown.json()).toMatchObject({ error: { code: "agent_invalid", message: expect.stringContaining("Error: no config") } });
    const missing = await deploy(imp.impId, `import x from "./lib.js"; export default { fetch() {} };`);
    expect(await missing.json()).toMatchObject({ error: { code: "agent_invalid", message: expect.stringContaining("lib.js") } });
    const noHandler = await deploy(imp.impId, `export default { get() {} };`);
    expect(await noHandler.json()).toMatchObject({ error: { code: "agent_invalid", message: expect.stringContaining("export default") } });
    const tooBig = await deploy(imp.impId, `export default { fetch() {} }; // ${"x".repeat(256 * 1024)}`);
    expect(tooBig.status).toBe(413);
    expect((await admin(`/imps/${imp.impId}/agent`)).status).toBe(200);
    expect((await admin(`/imps/${imp.impId}/agent`, { method: "POST", body: "{}" })).status).toBe(400);
  });

  it("goes back to the tunnel-mode relay when the code is removed", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    devices.push(device);
    device.serve(() => ({ status: 200, body: "from the device" }));
    await deployAgent(imp, answering("agent"));
    expect(await (await callerFetch(imp, "/x")).text()).toBe("agent /x");
    expect(await (await admin(`/imps/${imp.impId}`)).json()).toMatchObject({ agentVersion: 1 });
    const removed = await admin(`/imps/${imp.impId}/agent`, { method: "DELETE" });
    expect(await removed.json()).toEqual({ active: null, purged: false });
    expect(await (await callerFetch(imp, "/x")).text()).toBe("from the device");
    expect(device.requests).toHaveLength(1);
    expect(await (await admin(`/imps/${imp.impId}`)).json()).toMatchObject({ agentVersion: null });
    // Stored versions stay until purged: a rollback restores the last one.
    expect((await admin(`/imps/${imp.impId}/agent/rollback`, { method: "POST", body: JSON.stringify({ version: 1 }) })).status).toBe(200);
    expect(await (await callerFetch(imp, "/x")).text()).toBe("agent /x");
    await admin(`/imps/${imp.impId}/agent?purge=true`, { method: "DELETE" });
    expect((await (await admin(`/imps/${imp.impId}/agent`)).json<{ versions: unknown[] }>()).versions).toEqual([]);
    expect((await auditEvents(imp)).filter((e) => e.event === "agent_removed")).toHaveLength(2);
    expect((await agentLogs(imp)).map((l) => l.message)).toContain("agent code removed: requests go to the device again");
  });

  it("answers 404 for an imp this edge never minted", async () => {
    const res = await deploy("not-an-imp", answering("x"));
    expect(res.status).toBe(404);
  });
});
