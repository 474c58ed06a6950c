/**
 * Agent code has no network unless the operator allows hosts, and then only
 * those, over HTTPS. The allowed host is served by the test network behind the worker's
 * own fetch (test/helpers/test-network.ts, vitest.config.ts `outboundService`); any other
 * host there answers "LEAKED", so a request that got past the gate would show.
 */
import { describe, expect, it } from "vitest";
import { ALLOWED_TEST_HOST } from "../helpers/test-network.ts";
import { admin, agentLogs, auditEvents, callerFetch, createImp, deployAgent, type TestImp } from "./helpers.ts";

/** An agent that fetches the URL in `?url=` and reports what happened. */
const FETCHER = `export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get("url");
    try {
      const res = await fetch(target);
      return Response.json({ status: res.status, body: await res.text() });
    } catch (e) {
      return Response.json({ error: e.message });
    }
  },
};`;

async function agentFetch(imp: TestImp, url: string): Promise<{ status?: number; body?: string; error?: string }> {
  const res = await callerFetch(imp, `/?url=${encodeURIComponent(url)}`);
  expect(res.status).toBe(200);
  return res.json();
}

function allow(imp: TestImp, hosts: string[]): Promise<Response> {
  return admin(`/imps/${imp.impId}/agent/outbound`, { method: "PUT", body: JSON.stringify({ hosts }) });
}

describe("agent code's network", () => {
  it("has none by default: a fetch to any host fails, the allowed test host included", async () => {
    const imp = await createImp();
    await deployAgent(imp, FETCHER);
    for (const url of [
      `https://${ALLOWED_TEST_HOST}/x`,
      "https://example.com/",
      "http://127.0.0.1:8787/",
      "https://edge.test/admin/imps",
    ]) {
      const seen = await agentFetch(imp, url);
      expect(seen.error, url).toMatch(/not permitted to access the internet/);
      expect(seen.body).toBeUndefined();
    }
  });

  it("reaches an allowed host over HTTPS, and nothing else", async () => {
    const imp = await createImp();
    await deployAgent(imp, FETCHER);
    expect(await (await allow(imp, [ALLOWED_TEST_HOST.toUpperCase()])).json()).toEqual({ outbound: [ALLOWED_TEST_HOST] });

    const ok = await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/weather?city=Oslo`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body!)).toEqual({ reached: ALLOWED_TEST_HOST, protocol: "https:", method: "GET", path: "/weather" });

    // Anything else is answered by the gate itself, as a forward proxy would, and never leaves.
    for (const url of [
      "https://example.com/",
      `https://evil.${ALLOWED_TEST_HOST}/`,
      `http://${ALLOWED_TEST_HOST}/`,
      `https://${ALLOWED_TEST_HOST}:8443/`,
    ]) {
      const seen = await agentFetch(imp, url);
      expect(seen.status, url).toBe(403);
      expect(seen.body, url).toMatch(/"outbound_refused".*impgate: outbound request refused/);
      expect(seen.body, url).not.toMatch(/LEAKED|reached/);
    }
    // A redirect from the allowed host to another one is not followed past the gate.
    const redirected = await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/redirect?to=${encodeURIComponent("https://example.com/")}`);
    expect(redirected.status).toBe(403);
    expect(redirected.body).toMatch(/example\.com is not in this imp's outbound allowlist/);

    expect((await agentLogs(imp)).filter((l) => l.message.startsWith("outbound request refused")).length).toBeGreaterThanOrEqual(4);
    const refused = (await auditEvents(imp)).filter((e) => e.event === "agent_outbound_refused").map((e) => e.detail.host);
    expect(refused).toContain("example.com");
  });

  it("applies an allowlist change to the running version at once, and its removal too", async () => {
    const imp = await createImp();
    await deployAgent(imp, FETCHER);
    expect((await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/`)).error).toMatch(/not permitted/);
    await allow(imp, [ALLOWED_TEST_HOST]);
    expect((await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/`)).status).toBe(200);
    await allow(imp, []);
    expect((await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/`)).error).toMatch(/not permitted/);
    const changes = (await auditEvents(imp)).filter((e) => e.event === "agent_outbound_changed").map((e) => e.detail.hosts);
    expect(changes).toEqual(["none", ALLOWED_TEST_HOST]);
  });

  it("lets one imp's allowlist open nothing for another imp", async () => {
    const open = await createImp();
    const closed = await createImp();
    await deployAgent(open, FETCHER);
    await deployAgent(closed, FETCHER);
    await allow(open, [ALLOWED_TEST_HOST]);
    expect((await agentFetch(open, `https://${ALLOWED_TEST_HOST}/`)).status).toBe(200);
    expect((await agentFetch(closed, `https://${ALLOWED_TEST_HOST}/`)).error).toMatch(/not permitted/);
  });

  it("takes subdomain wildcards, and refuses what is not a host name", async () => {
    const imp = await createImp();
    expect(await (await allow(imp, ["*.impgate.test"])).json()).toEqual({ outbound: ["*.impgate.test"] });
    await deployAgent(imp, FETCHER);
    expect((await agentFetch(imp, `https://${ALLOWED_TEST_HOST}/`)).status).toBe(200);
    expect((await agentFetch(imp, "https://impgate.test/")).body).toMatch(/outbound_refused/);
    for (const bad of ["https://example.com", "example.com/path", "*", "*.com.", "a b"]) {
      const res = await allow(imp, [bad]);
      expect(res.status, bad).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("bad_host");
    }
  });
});
