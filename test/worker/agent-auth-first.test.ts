/**
 * The platform's HTTPS rule and caller authentication run before agent code, in
 * every case, and agent code cannot get around them. The agent here is a tripwire: every
 * run writes to its state and its log, so "it never ran" is checked, not assumed.
 */
import { describe, expect, it } from "vitest";
import { addCallerKey, admin, agentLogs, bearerToken, callerFetch, createImp, deployAgent, edgeFetch, type TestImp } from "./helpers.ts";

const TRIPWIRE = `export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    console.log("agent ran for " + path);
    await env.state.put("ran", ((await env.state.get("ran")) ?? 0) + 1);
    return new Response("agent answered " + path);
  },
};`;

async function armed(): Promise<TestImp> {
  const imp = await createImp();
  await deployAgent(imp, TRIPWIRE);
  return imp;
}

/** Proof that the tripwire never fired: no state written, no line of the agent's own in its log. */
async function expectAgentNeverRan(imp: TestImp): Promise<void> {
  expect((await callerFetch(imp, "/_state/ran")).status).toBe(404);
  expect((await agentLogs(imp)).filter((l) => l.source === "agent")).toEqual([]);
}

describe("agent code runs only after the platform's checks", () => {
  it("never sees a request without a credential, or with a forged, foreign or malformed one", async () => {
    const imp = await armed();
    const other = await createImp();
    const foreignToken = await bearerToken(other);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." },
      { authorization: `Bearer ${foreignToken}` },
      { authorization: "Basic YWRtaW46YWRtaW4=" },
      { "x-imp-code": "123456" },
      { "x-hub-signature-256": "sha256=00" },
    ];
    for (const headers of attempts) {
      const res = await edgeFetch(`${imp.agentUrl}/open`, { method: "POST", headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.text()).not.toContain("agent answered");
    }
    await expectAgentNeverRan(imp);
  });

  it("never sees plain HTTP, even with a valid token (which is burned)", async () => {
    const imp = await armed();
    const token = await bearerToken(imp);
    const res = await edgeFetch(`${imp.agentUrl.replace("https://", "http://")}/open`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: { message: string } }>()).error.message).toBe("Insecure access forbidden");
    // The token was exposed, so it no longer works over HTTPS either.
    expect((await edgeFetch(`${imp.agentUrl}/open`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await expectAgentNeverRan(imp);
  });

  it("never sees a rotated URL or a revoked credential's token", async () => {
    const imp = await armed();
    const cred = await addCallerKey(imp);
    const token = await bearerToken(imp, cred);
    const rotated = await (await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" })).json<{ agentUrl: string; agentId: string }>();
    expect((await edgeFetch(`${imp.agentUrl}/open`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);

    const moved: TestImp = { ...imp, agentUrl: rotated.agentUrl, agentId: rotated.agentId, token: undefined };
    const fresh = await bearerToken(moved, cred);
    await admin(`/imps/${imp.impId}/credentials/${cred.credId}`, { method: "DELETE" });
    expect((await edgeFetch(`${moved.agentUrl}/open`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(401);
    await expectAgentNeverRan(moved);
  });

  it("never sees a rate-limited client, nor the platform's reserved paths", async () => {
    const imp = await armed();
    const client = { "cf-connecting-ip": "203.0.113.9" };
    for (let i = 0; i < 10; i++) await edgeFetch(`${imp.agentUrl}/x`, { headers: { ...client, authorization: "Bearer bad" } });
    const token = await bearerToken(imp);
    const limited = await edgeFetch(`${imp.agentUrl}/x`, { headers: { ...client, authorization: `Bearer ${token}` } });
    expect(limited.status).toBe(429);
    // Reserved paths are the platform's own, authenticated or not.
    for (const path of ["/_state", "/_events", "/_messages/none", "/_state/k/extra"]) {
      const res = await callerFetch(imp, path);
      expect(await res.text(), path).not.toContain("agent answered");
    }
    await expectAgentNeverRan(imp);
  });

  it("runs for an authenticated caller over HTTPS (the tripwire works)", async () => {
    const imp = await armed();
    const res = await callerFetch(imp, "/open", { method: "POST" });
    expect(await res.text()).toBe("agent answered /open");
    expect(await (await callerFetch(imp, "/_state/ran")).json()).toMatchObject({ value: 1 });
    expect((await agentLogs(imp)).filter((l) => l.source === "agent").map((l) => l.message)).toEqual(["agent ran for /open"]);
  });

  it("runs for anyone only when the operator made the imp public", async () => {
    const imp = await armed();
    expect((await edgeFetch(`${imp.agentUrl}/x`)).status).toBe(401);
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ public: true }) });
    expect(await (await edgeFetch(`${imp.agentUrl}/x`)).text()).toBe("agent answered /x");
  });
});
