import { describe, expect, it } from "vitest";
import { admin, createImp } from "./helpers.ts";

describe("admin API: the imp's view", () => {
  it("shows the imp's current agent URL, and the new one after a rotation", async () => {
    const imp = await createImp("view");
    const shown = await (await admin(`/imps/${imp.impId}`)).json<{ agentId: string; agentUrl: string; urlSecret?: string }>();
    expect(shown.agentUrl).toBe(imp.agentUrl);
    expect(shown.agentId).toBe(imp.agentId);
    expect(shown.urlSecret).toBeUndefined();

    const rotated = await (await admin(`/imps/${imp.impId}/rotate-url`, { method: "POST" })).json<{ agentUrl: string }>();
    expect(rotated.agentUrl).not.toBe(imp.agentUrl);
    expect((await (await admin(`/imps/${imp.impId}`)).json<{ agentUrl: string }>()).agentUrl).toBe(rotated.agentUrl);

    const patched = await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ queueLimit: 5 }) });
    expect(await patched.json()).toMatchObject({ agentUrl: rotated.agentUrl, queueLimit: 5 });
  });
});
