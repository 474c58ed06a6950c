/** Rotating an agent URL: the old one is dead at once, indistinguishable from one that never existed. */
import { afterEach, describe, expect, it } from "vitest";
import { admin, bearerToken, callerFetch, createImp, edgeFetch, TestDevice, type TestImp } from "./helpers.ts";

const devices: TestDevice[] = [];
afterEach(() => {
  for (const d of devices.splice(0)) d.close();
});

async function snapshot(res: Response) {
  return { status: res.status, headers: [...res.headers].filter(([k]) => k !== "date"), body: await res.text() };
}

describe("agent URL rotation", () => {
  it("kills the old URL at once with the same 404 as an unknown id, and the new URL works", async () => {
    const imp = await createImp();
    const device = await TestDevice.connect(imp);
    device.serve(() => ({ status: 200, body: "ok" }));
    devices.push(device);
    const oldToken = await bearerToken(imp);
    expect((await callerFetch(imp, "/x")).status).toBe(200);

    const rotated = await (await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" })).json<{ agentUrl: string; agentId: string }>();
    expect(rotated.agentUrl).not.toBe(imp.agentUrl);

    const oldUrl = await snapshot(await edgeFetch(`${imp.agentUrl}/x`, { headers: { authorization: `Bearer ${oldToken}` } }));
    const unknown = await snapshot(await edgeFetch(`/agent/${"A".repeat(64)}/x`));
    expect(oldUrl.status).toBe(404);
    expect(oldUrl).toEqual(unknown);
    // The challenge on the old URL is refused the same way.
    expect(await snapshot(await edgeFetch(`${imp.agentUrl}/_auth/challenge`, { method: "POST" }))).toEqual(unknown);

    // A token minted for the old URL does not work at the new one either.
    const moved: TestImp = { ...imp, agentUrl: rotated.agentUrl, agentId: rotated.agentId, token: undefined };
    expect((await edgeFetch(`${moved.agentUrl}/x`, { headers: { authorization: `Bearer ${oldToken}` } })).status).toBe(401);
    expect((await callerFetch(moved, "/x")).status).toBe(200);
    expect(device.requests).toHaveLength(2);
  });

  it("is audited", async () => {
    const imp = await createImp();
    await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" });
    const { entries } = await (await admin(`/imps/${imp.impId}/audit`)).json<{ entries: { event: string }[] }>();
    expect(entries[0]!.event).toBe("url_rotated");
  });
});
