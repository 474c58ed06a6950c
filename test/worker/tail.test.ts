import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { admin, callerFetch, createImp, edgeFetch, TestDevice, type TestImp, within } from "./helpers.ts";
import { TailReader } from "./tail-reader.ts";

describe("an imp's live request log in the Workers runtime", () => {
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(x: T): T => {
    open.push(x);
    return x;
  };
  afterEach(() => {
    for (const x of open.splice(0)) x.close();
  });
  const readerOf = async (imp: TestImp) => {
    const reader = await TailReader.open(imp.impId);
    track({ close: () => reader.ws.close(1000) });
    await reader.until((r) => r.frames.find((f) => f.t === "hello"), "hello");
    return reader;
  };

  it("answers 426 without a websocket upgrade, 404 for an imp this edge never minted, 401 without the admin secret", async () => {
    const imp = await createImp();
    expect((await admin(`/imps/${imp.impId}/tail`)).status).toBe(426);
    expect((await admin(`/imps/imp_${"A".repeat(43)}/tail`, { headers: { Upgrade: "websocket" } })).status).toBe(404);
    const outsider = await edgeFetch(`/admin/imps/${imp.impId}/tail`, { headers: { Upgrade: "websocket" } });
    expect(outsider.status).toBe(401);
    expect(outsider.webSocket).toBeNull();
  });

  it("logs a relayed request with its path, status and credential, never the agent id or the query", async () => {
    const imp = await createImp();
    const device = track(await TestDevice.connect(imp));
    device.serve(() => ({ status: 201, body: "made" }));
    const reader = await readerOf(imp);
    expect((await callerFetch(imp, "/door/open?key=s3cret")).status).toBe(201);
    const line = await reader.line((l) => l.path === "/door/open");
    expect(line).toMatchObject({ method: "GET", status: 201, query: true });
    expect(line.cred).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const raw = JSON.stringify(reader.frames);
    expect(raw).not.toContain(imp.agentId);
    expect(raw).not.toContain("s3cret");
    expect(raw).not.toContain(imp.token);
  });

  it("never mistakes a tail socket for the device's: the device still gets requests, the reader only lines", async () => {
    const imp = await createImp();
    const reader = await readerOf(imp);
    const device = track(await TestDevice.connect(imp));
    device.serve(() => ({ status: 200, body: "device" }));
    expect(await (await callerFetch(imp, "/x")).text()).toBe("device");
    await reader.line((l) => l.path === "/x" && l.status === 200);
    expect(reader.frames.every((f) => f.t === "hello" || f.t === "line")).toBe(true);
    // Anything but an ack from a reader closes its socket, and the device's link stays up.
    reader.ws.send("hello?");
    expect(await within(3000, reader.closed, "reader closed")).toBe(1008);
    expect(await (await callerFetch(imp, "/y")).text()).toBe("device");
  });

  it("logs refusals decided before the relay: a forged token, plain HTTP, a refused call to the agent's APIs", async () => {
    const imp = await createImp();
    const reader = await readerOf(imp);
    const forged = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    expect((await edgeFetch(`${imp.agentUrl}/forged`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await edgeFetch(`${imp.agentUrl.replace("https:", "http:")}/plain`)).status).toBe(401);
    expect((await edgeFetch(`${imp.agentUrl}/_state/k`)).status).toBe(401);
    expect(await reader.line((l) => l.path === "/forged")).toMatchObject({ status: 401, code: "unauthorized", cred: null });
    expect(await reader.line((l) => l.path === "/plain")).toMatchObject({ status: 401, code: "insecure_access" });
    expect(await reader.line((l) => l.path === "/_state/k")).toMatchObject({ method: "GET", status: 401, code: "unauthorized" });
    expect(JSON.stringify(reader.frames)).not.toContain(forged);
  });

  it("logs the agent's own APIs and the token exchange with the status the caller got, and the token's credential", async () => {
    const imp = await createImp();
    const reader = await readerOf(imp);
    expect((await callerFetch(imp, "/_state/k", { method: "PUT", body: "1" })).status).toBe(200);
    expect((await callerFetch(imp, "/_messages?name=ping", { method: "POST", body: "x" })).status).toBe(202);
    expect((await callerFetch(imp, "/_events?limit=1")).status).toBe(200);
    expect((await callerFetch(imp, "/_state/missing")).status).toBe(404);
    const put = await reader.line((l) => l.path === "/_state/k");
    expect(put).toMatchObject({ method: "PUT", status: 200, query: false, cred: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(await reader.line((l) => l.path === "/_messages")).toMatchObject({ method: "POST", status: 202, query: true, cred: put.cred });
    expect(await reader.line((l) => l.path === "/_events")).toMatchObject({ method: "GET", status: 200, query: true });
    expect(await reader.line((l) => l.path === "/_state/missing")).toMatchObject({ status: 404, code: "key_not_found" });
    // The token came from the challenge-response: both steps are lines, neither names a credential yet.
    expect(await reader.line((l) => l.path === "/_auth/challenge")).toMatchObject({ method: "POST", status: 200, cred: null });
    expect(await reader.line((l) => l.path === "/_auth/token")).toMatchObject({ method: "POST", status: 200, cred: null });
  });

  it("logs a client the worker holds back (429) without the object deciding it", async () => {
    const imp = await createImp();
    const reader = await readerOf(imp);
    const client = { "cf-connecting-ip": "203.0.113.77", authorization: "Bearer not.a.token" };
    let status = 0;
    for (let i = 0; i < 20 && status !== 429; i++) status = (await edgeFetch(`${imp.agentUrl}/guess${i}`, { headers: client })).status;
    expect(status).toBe(429);
    const held = await reader.until((r) => r.lines().find((l) => l.status === 429), "the 429 line", 5000);
    expect(held).toMatchObject({ code: "rate_limited", cred: null });
  });

  it("drops and counts lines a reader does not acknowledge, rather than buffering them", async () => {
    const imp = await createImp();
    const reader = await readerOf(imp);
    const hello = reader.frames.find((f) => f.t === "hello");
    const window = hello?.t === "hello" ? hello.window : 0;
    const refusals = window + 10;
    // Refusals decided by the object (no credential): each is one line.
    for (let i = 0; i < refusals; i++) expect((await edgeFetch(`${imp.agentUrl}/n${i}`)).status).toBe(401);
    await reader.until((r) => (r.lines().length >= window ? true : undefined), "a full window");
    expect(reader.lines()).toHaveLength(window);
    reader.ack(window);
    const dropped = await reader.until((r) => r.frames.find((f) => f.t === "dropped"), "the dropped count");
    expect(dropped).toEqual({ t: "dropped", count: 10 });
  });

  it("refuses a ninth reader of one imp with 429", async () => {
    const imp = await createImp();
    for (let i = 0; i < 8; i++) await readerOf(imp);
    const res = await admin(`/imps/${imp.impId}/tail`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(429);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("too_many_tails");
  });

  it("lets an idle imp with a reader hibernate: the reader survives eviction and the fresh instance logs to it", async () => {
    const imp = await createImp();
    const stub = env.IMP.getByName(imp.impId);
    const reader = await readerOf(imp);
    // Nothing of the tail keeps the object awake: no alarm is set for it.
    expect(await runInDurableObject(stub, (_: ImpSession, state) => state.storage.getAlarm())).toBeNull();
    await runInDurableObject(stub, (instance: ImpSession) => Object.assign(instance, { beforeEviction: true }));
    await evictDurableObject(stub);
    expect(
      await within(200, reader.closed).then(
        () => "closed",
        () => "open",
      ),
    ).toBe("open");
    expect((await edgeFetch(`${imp.agentUrl}/after`)).status).toBe(401);
    await reader.line((l) => l.path === "/after" && l.status === 401);
    expect(await runInDurableObject(stub, (instance: ImpSession) => "beforeEviction" in instance)).toBe(false);
  });
});
