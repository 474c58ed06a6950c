/**
 * Agent code that is no longer the active version (rolled back, replaced or removed while
 * some of its work still runs) can no longer act: whatever it asks of its imp is refused,
 * and nothing of it is stored or reaches the device. Asked here as the stale isolate asks,
 * through the imp's object's agent facade with the old version.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { ask } from "../../worker/facade.ts";
import { agentLogs, callerFetch, createImp, deployAgent } from "./helpers.ts";

const AGENT = `export default { async fetch() { return new Response("ok"); } };`;

describe("an agent version no longer active", () => {
  it("can neither queue messages, use the state nor write to the agent log", async () => {
    const imp = await createImp();
    const stale = await deployAgent(imp, AGENT);
    const active = await deployAgent(imp, AGENT.replace("ok", "v2"));
    const stub = env.IMP.getByName(imp.impId);

    const asVersion = <R extends PromiseLike<unknown>>(version: number, use: (agent: ReturnType<typeof stub.agent>) => R) =>
      ask(stub.agent(version), use);
    const send = await asVersion(stale.version, (agent) => agent.send({ name: "open", data: new Uint8Array([1]), contentType: null }));
    expect(send).toMatchObject({ ok: false, code: "agent_inactive" });
    const put = await asVersion(stale.version, (agent) => agent.state({ op: "put", key: "door", json: '"open"' }));
    expect(put).toMatchObject({ ok: false, code: "agent_inactive" });
    const log = await asVersion(stale.version, (agent) => agent.log([{ level: "log", message: "written by a stale version" }]));
    expect(log).toMatchObject({ ok: false, code: "agent_inactive" });

    const queued = await runInDurableObject(stub, (_: ImpSession, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one(),
    );
    expect(queued.n).toBe(0);
    expect((await callerFetch(imp, "/_state/door")).status).toBe(404);
    expect((await agentLogs(imp)).map((e) => e.message)).not.toContain("written by a stale version");

    // The active version still can.
    const logged = await asVersion(active.version, (agent) => agent.log([{ level: "log", message: "written by the active version" }]));
    expect(logged).toMatchObject({ ok: true });
    expect((await agentLogs(imp)).map((e) => e.message)).toContain("written by the active version");
  });
});
