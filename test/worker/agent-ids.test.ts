import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { admin, callerFetch, createImp, edgeFetch } from "./helpers.ts";

/** `imp_…` / `agt_…`: the prefix, and the base64url body after it. */
function body(id: string): Uint8Array {
  return base64url.decode(id.slice(4));
}

async function snapshot(res: Response) {
  const headers = [...res.headers].filter(([k]) => k !== "date");
  return { status: res.status, headers, body: await res.text() };
}

describe("agent ids", () => {
  it("carry at least 128 random bits and are distinct per imp", async () => {
    const a = await createImp();
    const b = await createImp();
    expect(body(a.agentId).length).toBeGreaterThanOrEqual(32);
    expect(a.agentId).not.toBe(b.agentId);
    expect(a.agentUrl).toBe(`https://edge.test/agent/${a.agentId}`);
  });

  it("tell imps and agents apart by a visible prefix", async () => {
    const imp = await createImp();
    expect(imp.impId).toMatch(/^imp_[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    expect(imp.agentId).toMatch(/^agt_[A-Za-z0-9_][A-Za-z0-9_-]{63}$/);
    // The agent id carries the imp's random part, yet neither passes for the other.
    expect((await admin(`/imps/${imp.agentId}`)).status).toBe(404);
    expect((await edgeFetch(`/agent/${imp.impId}/x`)).status).toBe(404);
  });

  it("accepts an imp id in its one spelling only, so a variant never reaches another, empty object", async () => {
    const imp = await createImp();
    // 32 bytes fill 43 base64url characters with two bits to spare: flipping the lowest
    // bit of the last character spells the very same bytes differently.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(imp.impId.at(-1)!);
    const variant = imp.impId.slice(0, -1) + alphabet[last ^ 1];
    expect(body(variant)).toEqual(body(imp.impId));
    const before = (await listDurableObjectIds(env.IMP)).length;
    expect((await admin(`/imps/${variant}`)).status).toBe(404);
    expect((await admin(`/imps/${variant}`, { method: "PATCH", body: JSON.stringify({ public: true }) })).status).toBe(404);
    expect((await admin(`/imps/${variant}/credentials`)).status).toBe(404);
    expect((await edgeFetch(`/device/${variant}/connect?cnonce=${"a".repeat(43)}`, { headers: { Upgrade: "websocket" } })).status).toBe(
      404,
    );
    expect((await listDurableObjectIds(env.IMP)).length).toBe(before);
    expect((await admin(`/imps/${imp.impId}`)).status).toBe(200);
  });

  it("answers unknown, malformed and forged ids with the very same 404", async () => {
    const imp = await createImp();
    const bytes = body(imp.agentId);
    bytes[bytes.length - 1]! ^= 1; // a forged MAC
    const forged = `agt_${base64url.encode(bytes)}`;
    const otherUrlPart = body(imp.agentId);
    otherUrlPart[20]! ^= 0xff; // same imp, a made-up URL secret
    const unprefixed = imp.agentId.slice(4); // the old format, or a body pasted alone
    const asImp = `imp_${imp.agentId.slice(4)}`;
    const responses = await Promise.all(
      [
        "nope",
        "",
        "%00%ff",
        "a".repeat(64),
        "A".repeat(5000),
        forged,
        `agt_${base64url.encode(otherUrlPart)}`,
        unprefixed,
        asImp,
        imp.impId,
        imp.agentId.toUpperCase(),
      ].map((id) => edgeFetch(`/agent/${id}/anything?x=1`).then(snapshot)),
    );
    const first = responses[0]!;
    expect(first.status).toBe(404);
    expect(JSON.parse(first.body)).toEqual({ error: { code: "not_found", message: "Not found" } });
    for (const r of responses) expect(r).toEqual(first);
  });

  it("refuses a garbage or forged id without waking any Durable Object", async () => {
    const before = (await listDurableObjectIds(env.IMP)).length;
    const imp = await createImp();
    const bytes = body(imp.agentId);
    bytes[40]! ^= 1;
    const afterCreate = (await listDurableObjectIds(env.IMP)).length;
    for (const id of ["garbage", `agt_${base64url.encode(bytes)}`, `agt_${base64url.encode(crypto.getRandomValues(new Uint8Array(48)))}`]) {
      expect((await edgeFetch(`/agent/${id}/x`)).status).toBe(404);
    }
    expect(
      (
        await edgeFetch(`/device/imp_${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}/connect`, {
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
