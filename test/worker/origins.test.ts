/**
 * Devices serve content on agent URLs, so with a console host of its own the console and the
 * admin API are never served on the agent URLs' origin (however the path is spelled), and
 * agent URLs and device links never on the console's. Each answers the other's paths with
 * the same 404 as an unknown agent id.
 */
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { edgeFetch } from "./helpers.ts";
import { AGENT_ORIGIN, CONSOLE, consoleAdmin, separatedFetch } from "./separate-origins.ts";

const NOT_FOUND = { error: { code: "not_found", message: "Not found" } };

async function expectNotFound(res: Promise<Response>, what: string): Promise<void> {
  const answer = await res;
  expect(answer.status, what).toBe(404);
  expect(await answer.json(), what).toEqual(NOT_FOUND);
}

async function createOnConsole(): Promise<{ impId: string; agentUrl: string; deviceUrl: string }> {
  const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const res = await consoleAdmin("/imps", { method: "POST", body: JSON.stringify({ devicePublicJwk: await exportJWK(publicKey) }) });
  expect(res.status).toBe(201);
  return res.json();
}

describe("separate origins for the console and the agent URLs", () => {
  it("serves the admin API on the console's host, and hands out agent URLs and device links on the agents' host", async () => {
    const imp = await createOnConsole();
    expect(new URL(imp.agentUrl).origin).toBe(AGENT_ORIGIN);
    expect(new URL(imp.deviceUrl).origin).toBe(AGENT_ORIGIN);
    expect((await consoleAdmin(`/imps/${imp.impId}`)).status).toBe(200);
  });

  it("keeps a port: the agents' origin is the agents' host on the port the request came to", async () => {
    const res = await separatedFetch("https://console.edge.test:8443/console/sign-in");
    expect(res.status).toBe(200);
    const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const created = await separatedFetch("https://console.edge.test:8443/admin/imps", {
      method: "POST",
      headers: { authorization: `Bearer ${(await import("cloudflare:workers")).env.ADMIN_SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ devicePublicJwk: await exportJWK(publicKey) }),
    });
    expect(new URL((await created.json<{ agentUrl: string }>()).agentUrl).origin).toBe("https://edge.test:8443");
  });

  it("answers 404 for the admin API and the console on the agents' origin, however the path is spelled", async () => {
    const secret = (await import("cloudflare:workers")).env.ADMIN_SECRET;
    for (const path of [
      "/admin/imps",
      "/ADMIN/imps",
      "/%61dmin/imps",
      "//admin/imps",
      "/console",
      "/console/sign-in",
      "/Console/",
      "/%63onsole",
    ]) {
      await expectNotFound(separatedFetch(`${AGENT_ORIGIN}${path}`, { headers: { authorization: `Bearer ${secret}` } }), path);
    }
    // The same on any host but the console's (Cloudflare may route a workers.dev name here too).
    await expectNotFound(
      separatedFetch("https://impgate.example.workers.dev/admin/imps", { headers: { authorization: `Bearer ${secret}` } }),
      "workers.dev",
    );
  });

  it("answers 404 for agent URLs and device links on the console's origin", async () => {
    const imp = await createOnConsole();
    const agentPath = new URL(imp.agentUrl).pathname;
    await expectNotFound(separatedFetch(`${CONSOLE}${agentPath}/hello`), "an agent URL");
    await expectNotFound(separatedFetch(`${CONSOLE}${agentPath}/_auth/challenge`, { method: "POST" }), "a challenge");
    await expectNotFound(
      separatedFetch(`${CONSOLE}/device/${imp.impId}/connect?cnonce=${"a".repeat(43)}`, { headers: { upgrade: "websocket" } }),
      "a device link",
    );
    await expectNotFound(separatedFetch(`${CONSOLE}/anything`), "anything else");
    // …while the agents' origin has them.
    expect((await separatedFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST" })).status).toBe(200);
  });

  it("has no console at all while the edge has no console host (one origin for agent URLs and the admin API)", async () => {
    await expectNotFound(edgeFetch("/console"), "/console");
    await expectNotFound(edgeFetch("/console/sign-in"), "/console/sign-in");
  });
});
