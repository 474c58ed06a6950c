import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { callerFetch, createImp, edgeFetch } from "./helpers.ts";

async function snapshot(res: Response) {
  const headers = [...res.headers].filter(([k]) => k !== "date");
  return { status: res.status, headers, body: await res.text() };
}

describe("agent ids", () => {
  it("carry at least 128 random bits and are distinct per imp", async () => {
    const a = await createImp();
    const b = await createImp();
    expect(base64url.decode(a.agentId).length).toBeGreaterThanOrEqual(32);
    expect(a.agentId).not.toBe(b.agentId);
    expect(a.agentUrl).toBe(`https://edge.test/agent/${a.agentId}`);
  });

  it("answers unknown, malformed and forged ids with the very same 404", async () => {
    const imp = await createImp();
    const bytes = base64url.decode(imp.agentId);
    bytes[bytes.length - 1]! ^= 1; // a forged MAC
    const forged = base64url.encode(bytes);
    const otherUrlPart = base64url.decode(imp.agentId);
    otherUrlPart[20]! ^= 0xff; // same imp, a made-up URL secret
    const responses = await Promise.all(
      ["nope", "", "%00%ff", "a".repeat(64), "A".repeat(5000), forged, base64url.encode(otherUrlPart)].map((id) =>
        edgeFetch(`/agent/${id}/anything?x=1`).then(snapshot),
      ),
    );
    const first = responses[0]!;
    expect(first.status).toBe(404);
    expect(JSON.parse(first.body)).toEqual({ error: { code: "not_found", message: "Not found" } });
    for (const r of responses) expect(r).toEqual(first);
  });

  it("refuses a garbage or forged id without waking any Durable Object", async () => {
    const before = (await listDurableObjectIds(env.IMP)).length;
    const imp = await createImp();
    const bytes = base64url.decode(imp.agentId);
    bytes[40]! ^= 1;
    const afterCreate = (await listDurableObjectIds(env.IMP)).length;
    for (const id of ["garbage", base64url.encode(bytes), base64url.encode(crypto.getRandomValues(new Uint8Array(48)))]) {
      expect((await edgeFetch(`/agent/${id}/x`)).status).toBe(404);
    }
    expect(
      (
        await edgeFetch(`/device/${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}/connect`, {
          headers: { Upgrade: "websocket" },
        })
      ).status,
    ).toBe(404);
    expect(afterCreate).toBe(before + 1);
    expect((await listDurableObjectIds(env.IMP)).length).toBe(afterCreate);
  });

  it("routes the root of an agent URL and deeper paths to the same imp", async () => {
    const imp = await createImp();
    // No device connected: both reach the imp's object, which answers 503.
    expect((await callerFetch(imp, "")).status).toBe(503);
    expect((await callerFetch(imp, "/")).status).toBe(503);
    expect((await callerFetch(imp, "/a/b/c?d=e")).status).toBe(503);
  });
});
