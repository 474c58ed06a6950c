/**
 * A shared cache (a CDN, a company proxy) between callers and the edge must never keep one
 * caller's authenticated answer and hand it to someone else: every such answer, and every
 * error, is `Cache-Control: no-store`, whatever the device said.
 */
import { describe, expect, it } from "vitest";
import {
  addCallerKey,
  admin,
  assertion,
  callerFetch,
  challengeNonce,
  connectedDevices,
  createImp,
  deployAgent,
  edgeFetch,
  exchange,
} from "./helpers.ts";

const DEVICE_CACHEABLE = "public, max-age=3600";

function expectNoStore(res: Response, what: string): void {
  expect(res.headers.get("cache-control"), `${what} (${res.status})`).toBe("no-store");
}

describe("Cache-Control on agent URL answers", () => {
  const { online } = connectedDevices();

  it("is no-store on every answer of _messages, _events and _state, successes and errors alike", async () => {
    const imp = await createImp();
    const posted = await callerFetch(imp, "/_messages?name=n", { method: "POST", body: "x" });
    expect(posted.status).toBe(202);
    const { id } = await posted.json<{ id: string }>();
    const answers: [string, string, RequestInit?][] = [
      ["message status", `/_messages/${id}`],
      ["unknown message", "/_messages/nope"],
      ["_messages wrong method", "/_messages", { method: "GET" }],
      ["_messages bad ttl", "/_messages?ttl=0", { method: "POST", body: "x" }],
      ["_messages bad key", "/_messages", { method: "POST", body: "x", headers: { "idempotency-key": "bare" } }],
      ["_messages too large", "/_messages", { method: "POST", body: "x".repeat(65 * 1024) }],
      ["_messages deeper path", "/_messages/a/b"],
      ["events", "/_events"],
      ["events bad query", "/_events?limit=0"],
      ["events wrong method", "/_events", { method: "POST" }],
      ["state write", "/_state/k", { method: "PUT", body: "1" }],
      ["state read", "/_state/k"],
      ["state list", "/_state"],
      ["state delete", "/_state/k", { method: "DELETE" }],
      ["missing state key", "/_state/k"],
      ["state wrong method", "/_state", { method: "POST" }],
    ];
    expectNoStore(posted, "message post");
    for (const [what, path, init] of answers) expectNoStore(await callerFetch(imp, path, init), what);
  });

  it("is no-store on _auth answers and on every refusal of a caller", async () => {
    const imp = await createImp();
    const cred = await addCallerKey(imp);
    const challenge = await edgeFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST" });
    expectNoStore(challenge, "challenge");
    const nonce = await challengeNonce(imp);
    expectNoStore(await exchange(imp, await assertion(cred, { nonce, audience: imp.agentUrl })), "token");
    expectNoStore(await exchange(imp, "not.a.jwt"), "token refused");
    expectNoStore(await edgeFetch(`${imp.agentUrl}/_auth/x`), "_auth wrong path");
    expectNoStore(await edgeFetch(`${imp.agentUrl}/_state`), "no credential");
    expectNoStore(await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: "Bearer forged" } }), "forged token");
    expectNoStore(await edgeFetch(`${imp.agentUrl.slice(0, -4)}AAAA/x`), "unknown agent");
    expectNoStore(await edgeFetch(`${imp.agentUrl.replace("https:", "http:")}/x`), "plain HTTP");
  });

  it("replaces the device's Cache-Control with no-store on a reply to an authenticated caller", async () => {
    const { imp, device } = await online();
    device.serve((req) => ({
      status: req.path === "/missing" ? 404 : 200,
      headers: req.path === "/bare" ? [] : [["cache-control", DEVICE_CACHEABLE]],
      body: "for one caller",
    }));
    for (const path of ["/page", "/bare", "/missing"]) {
      const res = await callerFetch(imp, path);
      expect(await res.text()).toBe("for one caller");
      expectNoStore(res, `relayed ${path}`);
    }
  });

  it("is no-store on the relay's own refusals: device offline", async () => {
    const imp = await createImp();
    expectNoStore(await callerFetch(imp, "/x"), "device offline");
  });

  it("replaces agent code's Cache-Control too when it answers an authenticated caller", async () => {
    const { imp } = await online();
    await deployAgent(
      imp,
      `export default { fetch() { return new Response("agent", { headers: { "cache-control": "${DEVICE_CACHEABLE}" } }); } };`,
    );
    expectNoStore(await callerFetch(imp, "/x"), "agent code reply");
  });

  it("keeps the device's own Cache-Control for an anonymous caller of a --public imp, and no-store for an authenticated one", async () => {
    const { imp, device } = await online();
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ public: true }) });
    device.serve(() => ({ status: 200, headers: [["cache-control", DEVICE_CACHEABLE]], body: "public page" }));
    const anonymous = await edgeFetch(`${imp.agentUrl}/page`);
    expect(await anonymous.text()).toBe("public page");
    expect(anonymous.headers.get("cache-control")).toBe(DEVICE_CACHEABLE);
    expectNoStore(await callerFetch(imp, "/page"), "authenticated caller of a public imp");
  });
});
