/**
 * Deleting an imp: its device's socket is closed (for good: a deleted imp's device is told
 * so), its object's storage and alarm are dropped, its registry row goes, the deletion is in
 * the edge's own audit log (the imp's is gone with it), and its agent URL answers exactly as
 * an id that never existed.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import type { FleetPage } from "../../protocol/fleet-api.ts";
import { admin, callerFetch, connectedDevices, edgeFetch, eventually, TestDevice, within } from "./helpers.ts";

describe("imp delete", () => {
  const { online, track } = connectedDevices();

  it("closes the device, drops the object's storage and row, and leaves an agent URL like an unknown one", async () => {
    const { imp, device } = await online();
    device.serve(() => ({ status: 200, body: "here" }));
    expect((await callerFetch(imp, "/x")).status).toBe(200);
    expect((await callerFetch(imp, "/_messages?name=later", { method: "POST", body: "x" })).status).toBe(202);
    await eventually("its row", async () => (await (await admin(`/imps?q=${imp.impId}`)).json<FleetPage>()).imps.length === 1);

    const res = await admin(`/imps/${imp.impId}`, { method: "DELETE", headers: { "impgate-operator": "ops@desk" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ impId: imp.impId, deleted: true });
    expect((await within(2000, device.closed, "the socket closed")).code).toBe(4005);

    // Its agent URL: byte for byte the answer of an agent id that never existed.
    const unknown = `${imp.agentUrl.slice(0, -8)}AAAAAAAA`;
    for (const [path, method] of [
      ["/x", "GET"],
      ["/_messages?name=later", "POST"],
    ] as const) {
      const body = method === "POST" ? "x" : undefined;
      const [gone, never] = await Promise.all([callerFetch(imp, path, { method, body }), edgeFetch(`${unknown}${path}`, { method, body })]);
      expect(gone.status).toBe(404);
      expect(await gone.text()).toBe(await never.text());
      expect([...gone.headers]).toEqual([...never.headers]);
    }
    expect((await admin(`/imps/${imp.impId}`)).status).toBe(404);
    expect((await (await admin(`/imps?q=${imp.impId}`)).json<FleetPage>()).imps).toEqual([]);
    // The device is refused, as for a revoked key.
    const again = track(await TestDevice.open(imp.impId));
    expect((await within(2000, again.closed, "refused")).code).toBe(4005);

    const stored = await runInDurableObject(env.IMP.getByName(imp.impId), async (_: ImpSession, state) => ({
      keys: (await state.storage.list()).size,
      alarm: await state.storage.getAlarm(),
    }));
    expect(stored).toEqual({ keys: 0, alarm: null });

    const audit = await (await admin("/audit?limit=1000")).json<{ entries: { event: string; detail: Record<string, unknown> }[] }>();
    expect(audit.entries.find((e) => e.event === "imp_deleted" && e.detail.impId === imp.impId)?.detail).toMatchObject({ by: "ops@desk" });
    // Again: nothing to delete.
    expect((await admin(`/imps/${imp.impId}`, { method: "DELETE" })).status).toBe(404);
  });
});
