/**
 * The edge stays an authenticated relay for sealed traffic: it cannot read a sealed request,
 * but it still checks who sends it, what that credential may do (`sealed` in its scope), a
 * DPoP-bound token's proof (one use), and the credential's rate, before a byte goes to the
 * device. Each attack is made as an outsider would, and the device's socket is checked for
 * the sealed request frames it got (none, or exactly the ones let through).
 */
import { describe, expect, it } from "vitest";
import { createDpopProof } from "../../caller/dpop.ts";
import { edgeFetch } from "./helpers.ts";
import { bearerFetch, dpopFetch, jwtCaller, tokenFor } from "./least-privilege.ts";
import { sealedImp } from "./sealed-helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const SEALED = { "content-type": "application/impgate-sealed-request" };

async function errorCode(res: Response): Promise<[number, string]> {
  return [res.status, (await res.json<{ error: { code: string } }>()).error.code];
}

describe("sealed requests under least privilege", () => {
  it("are refused to a credential whose scope does not grant `sealed`, even one with the whole relay", async () => {
    const s = await sealedImp("optional");
    const relayOnly = await jwtCaller(s.imp, { scope: ["* /**", "messages:write", "events:read"] });
    const token = await tokenFor(s.imp, relayOnly);
    const sealed = await (await s.caller()).seal({ method: "POST", path: "/door", body: text("open") });
    const url = `${s.imp.agentUrl}/_sealed`;
    const res = await dpopFetch(relayOnly.key, token, url, { method: "POST", headers: SEALED, body: sealed.bytes });
    expect(res.headers.get("www-authenticate")).toMatch(/^DPoP realm="impgate", error="insufficient_scope"/);
    expect(await errorCode(res)).toEqual([403, "insufficient_scope"]);
    expect(await errorCode(await dpopFetch(relayOnly.key, token, `${s.imp.agentUrl}/_sealed/key`))).toEqual([403, "insufficient_scope"]);
    expect(s.sreqs).toEqual([]);
    expect(s.handled).toEqual([]);
    s.device.close();
  });

  it("go through with a DPoP-bound token scoped to `sealed` alone; the same outer request sent again is refused at the edge", async () => {
    const s = await sealedImp("required");
    const caller = await jwtCaller(s.imp, { scope: ["sealed"] });
    const token = await tokenFor(s.imp, caller);
    const sealed = await (await s.caller()).seal({ method: "POST", path: "/door", body: text("open") });
    const url = `${s.imp.agentUrl}/_sealed`;
    const headers = {
      ...SEALED,
      authorization: `DPoP ${token}`,
      dpop: await createDpopProof(caller.key, { method: "POST", url, accessToken: token }),
    };
    const first = await edgeFetch(url, { method: "POST", headers, body: sealed.bytes });
    expect(first.status).toBe(200);
    expect(new TextDecoder().decode((await sealed.openReply(new Uint8Array(await first.arrayBuffer()))).body)).toBe("open");
    // What someone who copied the whole request off the wire would send: the proof is spent.
    const copied = await edgeFetch(url, { method: "POST", headers, body: sealed.bytes });
    expect(copied.status).toBe(401);
    // Without its proof, the bound token is refused as a bearer token.
    expect((await bearerFetch(token, url, { method: "POST", headers: SEALED, body: sealed.bytes })).status).toBe(401);
    // The scope grants sealed requests and nothing in the clear.
    expect(await errorCode(await dpopFetch(caller.key, token, `${s.imp.agentUrl}/door`, { method: "POST", body: "open" }))).toEqual([
      403,
      "insufficient_scope",
    ]);
    expect(s.sreqs).toHaveLength(1);
    expect(s.handled.map((r) => r.path)).toEqual(["/door"]);
    s.device.close();
  });

  it("count against the credential's rate, and past it are refused before the device sees them", async () => {
    const s = await sealedImp("required");
    const limited = await jwtCaller(s.imp, { scope: ["sealed"], rate: "2/m", dpop: false });
    const token = await tokenFor(s.imp, limited, { dpop: false });
    const sealer = await s.caller();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const sealed = await sealer.seal({ method: "POST", path: `/door/${i}`, body: text("open") });
      const res = await bearerFetch(token, `${s.imp.agentUrl}/_sealed`, { method: "POST", headers: SEALED, body: sealed.bytes });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(await errorCode(res)).toEqual([429, "rate_limited"]);
      }
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(s.sreqs).toHaveLength(2);
    expect(s.handled.map((r) => r.path)).toEqual(["/door/0", "/door/1"]);
    s.device.close();
  });
});
