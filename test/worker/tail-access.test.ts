/**
 * The live request log from the attacker's side: only the admin may open it (no secret, a
 * wrong one, a caller's credential, an agent URL current or rotated, the device's route:
 * nothing opens and no line leaks), and a line never carries what a request brought with
 * it (tokens, DPoP proofs, codes, webhook signatures, cookies, bodies, the query, the agent
 * id): only the fields protocol/tail.ts lists.
 */
import { env } from "cloudflare:workers";
import * as OTPAuth from "otpauth";
import { afterEach, describe, expect, it } from "vitest";
import { signWebhook } from "../../protocol/index.ts";
import type { TailLine } from "../../protocol/tail.ts";
import { admin, bearerToken, callerFetch, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";
import { TailReader } from "./tail-reader.ts";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const x of open.splice(0)) x.close();
});

async function readerOf(imp: TestImp): Promise<TailReader> {
  const reader = await TailReader.open(imp.impId);
  open.push({ close: () => reader.ws.close(1000) });
  await reader.until((r) => r.frames.find((f) => f.t === "hello"), "hello");
  return reader;
}

async function servedImp(): Promise<{ imp: TestImp; device: TestDevice }> {
  const imp = await createImp();
  const device = await TestDevice.connect(imp);
  device.serve(() => ({ status: 200, body: "ok" }));
  open.push(device);
  return { imp, device };
}

/** An attempt at a tail socket: refused means no socket, and nothing of the log in the answer. */
async function expectRefused(res: Response, marker: string): Promise<number> {
  expect(res.status).not.toBe(101);
  expect(res.webSocket).toBeNull();
  expect(await res.text()).not.toContain(marker);
  return res.status;
}

const upgrade = (authorization?: string): RequestInit => ({
  headers: { Upgrade: "websocket", ...(authorization === undefined ? {} : { authorization }) },
});

describe("who may open an imp's live request log", () => {
  it("refuses anyone without the admin secret: none, a wrong one, a caller's token, the agent id; over plain HTTP even the right one", async () => {
    const { imp } = await servedImp();
    const reader = await readerOf(imp);
    expect((await callerFetch(imp, "/marker-path")).status).toBe(200);
    await reader.line((l) => l.path === "/marker-path");
    const tailUrl = `/admin/imps/${imp.impId}/tail`;
    const token = imp.token ?? "";
    const attempts: [string, Promise<Response>][] = [
      ["no secret", edgeFetch(tailUrl, upgrade())],
      ["a wrong secret", edgeFetch(tailUrl, upgrade("Bearer not-the-admin-secret"))],
      ["the caller's token", edgeFetch(tailUrl, upgrade(`Bearer ${token}`))],
      ["the caller's token as DPoP", edgeFetch(tailUrl, upgrade(`DPoP ${token}`))],
      ["the agent id", edgeFetch(tailUrl, upgrade(`Bearer ${imp.agentId}`))],
      ["the secret in the query", edgeFetch(`${tailUrl}?secret=not-the-admin-secret`, upgrade())],
    ];
    for (const [what, attempt] of attempts) expect([what, await expectRefused(await attempt, "/marker-path")]).toEqual([what, 401]);
    // The right secret over plain HTTP: refused before the admin API is reached.
    const plain = await edgeFetch(`http://edge.test${tailUrl}`, upgrade(`Bearer ${env.ADMIN_SECRET}`));
    expect(await expectRefused(plain, "/marker-path")).toBeGreaterThanOrEqual(400);
    // The admin's reader saw only the caller's requests: no attempt became a line or closed it.
    expect((await callerFetch(imp, "/still-there")).status).toBe(200);
    const paths = await reader.until((r) => (r.lines().length >= 4 ? r.lines().map((l) => l.path) : undefined), "four lines");
    expect(paths.sort()).toEqual(["/_auth/challenge", "/_auth/token", "/marker-path", "/still-there"]);
  });

  it("offers no tail under an agent URL, current or rotated, and nothing of it reaches the device", async () => {
    const { imp, device } = await servedImp();
    const reader = await readerOf(imp);
    const token = await bearerToken(imp);
    const asCaller = (url: string) => edgeFetch(url, upgrade(`Bearer ${token}`));
    for (const path of ["/_tail", "/_impgate/tail", "/_admin/tail"]) {
      expect(await expectRefused(await asCaller(`${imp.agentUrl}${path}`), "/_auth/token")).toBe(404);
    }
    // The object's own address for a tail socket is not a route of the edge.
    expect(await expectRefused(await asCaller("/_impgate/tail"), "/_auth/token")).toBe(404);
    expect(await expectRefused(await edgeFetch("https://imp.invalid/_impgate/tail", upgrade()), "/_auth/token")).toBe(404);

    await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" });
    expect(await expectRefused(await asCaller(`${imp.agentUrl}/_tail`), "/_auth/token")).toBe(404);
    expect(await expectRefused(await asCaller(`${imp.agentUrl}/anything`), "/_auth/token")).toBe(404);
    expect(device.requests).toHaveLength(0);
    // The admin still reads the log, which shows the old URL's use without naming it.
    await reader.line((l) => l.path === "/anything" && l.status === 404);
    expect(JSON.stringify(reader.frames)).not.toContain(imp.agentId);
  });

  it("never sends a line down the device's socket, proven or not", async () => {
    const { imp, device } = await servedImp();
    const reader = await readerOf(imp);
    // An outsider on the device route, who never proves the device key.
    const res = await edgeFetch(`/device/${imp.impId}/connect?cnonce=${"A".repeat(43)}`, upgrade());
    const outsider = res.webSocket;
    if (!outsider) throw new Error(`device route: ${res.status}`);
    const heard: string[] = [];
    outsider.addEventListener("message", (e) =>
      heard.push(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)),
    );
    outsider.binaryType = "arraybuffer";
    outsider.accept();
    open.push({ close: () => outsider.close(1000) });

    expect((await callerFetch(imp, "/seen-by-admin-only")).status).toBe(200);
    expect((await edgeFetch(`${imp.agentUrl}/refused-too`)).status).toBe(401);
    await reader.line((l) => l.path === "/refused-too");
    for (const text of heard) expect(text).not.toMatch(/seen-by-admin-only|refused-too|"t":"line"/);
    // The device got its request; no frame it got is a tail frame.
    expect(device.requests.map((r) => r.path)).toEqual(["/seen-by-admin-only"]);
  });
});

describe("what a line of the live request log carries", () => {
  it("only time, method, canonical path, whether there was a query, status, latency, credential id and error code", async () => {
    const { imp } = await servedImp();
    const reader = await readerOf(imp);
    const secrets: string[] = [];
    const keep = (s: string) => {
      secrets.push(s);
      return s;
    };

    // A bearer token, a cookie, a body and a query.
    const body = keep("body-secret-0123456789");
    const query = keep("query-secret-0123456789");
    const cookie = keep("cookie-secret-0123456789");
    expect((await callerFetch(imp, `/with?key=${query}`, { method: "POST", body, headers: { cookie: `s=${cookie}` } })).status).toBe(200);
    keep(imp.token ?? "");
    // A DPoP header the edge refuses, with the token.
    const proof = keep("eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJHRVQifQ.proof-secret");
    await edgeFetch(`${imp.agentUrl}/dpop`, { headers: { authorization: `DPoP ${imp.token}`, dpop: proof } });
    // A rotating code, accepted.
    const totp = await (await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "totp" }) })).json<{
      otpauthUri: string;
    }>();
    const code = keep((OTPAuth.URI.parse(totp.otpauthUri) as OTPAuth.TOTP).generate());
    expect((await edgeFetch(`${imp.agentUrl}/totp`, { headers: { "x-imp-code": code } })).status).toBe(200);
    // A signed webhook, accepted, and its signature.
    const hook = await (
      await admin(`/imps/${imp.impId}/credentials`, { method: "POST", body: JSON.stringify({ kind: "webhook", format: "github" }) })
    ).json<{
      secret: string;
    }>();
    keep(hook.secret);
    const payload = keep('{"hook-body-secret":42}');
    const [header, signature] = await signWebhook("github", hook.secret, new TextEncoder().encode(payload));
    keep(signature.replace(/^sha256=/, ""));
    const hooked = await edgeFetch(`${imp.agentUrl}/hook`, { method: "POST", body: payload, headers: { [header]: signature } });
    expect(hooked.status).toBe(200);
    // The agent's own API, with a body.
    const value = keep("state-secret-0123456789");
    expect((await callerFetch(imp, "/_state/k", { method: "PUT", body: JSON.stringify(value) })).status).toBe(200);

    // The token's exchange (two lines, from the worker, batched) and five requests.
    const lines = await reader.until((r) => (r.lines().length >= 7 ? r.lines() : undefined), "seven lines", 5000);
    expect(lines.map((l) => `${l.method} ${l.path} ${l.status}`)).toEqual(
      expect.arrayContaining(["POST /with 200", "GET /dpop 401", "GET /totp 200", "POST /hook 200", "PUT /_state/k 200"]),
    );
    const allowed = new Set<keyof TailLine>(["at", "method", "path", "query", "status", "ms", "cred", "code"]);
    for (const line of lines) for (const key of Object.keys(line)) expect(allowed.has(key as keyof TailLine)).toBe(true);
    const raw = JSON.stringify(reader.frames);
    expect(raw).not.toContain(imp.agentId);
    expect(raw).not.toContain("2001:db8");
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(5);
      expect(raw).not.toContain(secret);
    }
  });
});
