/**
 * The fleet registry: each imp's object writes its D1 row when a listed field changes
 * (provision, label, tags, connect, disconnect, deploy, disable), never per request; the
 * list pages with cursors and filters; a write that failed is repaired (the dirty mark and
 * the alarm, or `fleet reindex`).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import type { FleetImp, FleetPage } from "../../protocol/fleet-api.ts";
import { mintImpId } from "../../worker/ids.ts";
import { admin, callerFetch, connectedDevices, createImp, deployAgent, eventually, TestDevice, type TestImp } from "./helpers.ts";

async function list(query: string): Promise<FleetPage> {
  const res = await admin(`/imps?${query}`);
  expect(res.status).toBe(200);
  return res.json<FleetPage>();
}

/** The imp's row, as the list shows it (searched by its exact id). */
async function row(imp: TestImp): Promise<FleetImp | undefined> {
  return (await list(`q=${imp.impId}`)).imps[0];
}

function rowWhere(imp: TestImp, want: (r: FleetImp) => boolean, what: string): Promise<FleetImp> {
  return eventually(what, async () => {
    const r = await row(imp);
    return r && want(r) ? r : undefined;
  });
}

async function rev(imp: TestImp): Promise<number> {
  return runInDurableObject(
    env.IMP.getByName(imp.impId),
    (_: ImpSession, state) => state.storage.sql.exec<{ rev: number }>("SELECT rev FROM registry_sync").one().rev,
  );
}

const tagged = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}`;

describe("the fleet registry", () => {
  const { track } = connectedDevices();

  it("lists a new imp, and follows its device, label, tags, agent code and kill switch", async () => {
    const imp = await createImp("porch");
    const fresh = await rowWhere(imp, () => true, "the new imp's row");
    expect(fresh).toMatchObject({ label: "porch", online: false, agentMode: "tunnel", disabled: false, tags: [] });

    const device = track(await TestDevice.connect(imp));
    const online = await rowWhere(imp, (r) => r.online, "online");
    expect(online.deviceAgent).toBe("test-device");

    expect((await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ label: "front porch" }) })).status).toBe(200);
    await rowWhere(imp, (r) => r.label === "front porch", "the new label");

    const tag = tagged("garage");
    const tags = await admin(`/imps/${imp.impId}/tags`, { method: "POST", body: JSON.stringify({ add: [tag, "b-side"] }) });
    expect(await tags.json()).toEqual({ impId: imp.impId, tags: ["b-side", tag].sort() });
    await rowWhere(imp, (r) => r.tags.includes(tag), "the tags");

    await deployAgent(imp, "export default { fetch() { return new Response('hi'); } }");
    await rowWhere(imp, (r) => r.agentMode === "code" && r.agentVersion === 1, "agent code");

    await admin(`/imps/${imp.impId}/disable`, { method: "POST", body: JSON.stringify({ reason: "testing" }) });
    await rowWhere(imp, (r) => r.disabled && r.disabledReason === "testing", "disabled");

    device.close();
    await rowWhere(imp, (r) => !r.online && r.lastSeen !== null, "offline");
  });

  it("lists a device that went silent as offline, with why and since when it was silent", async () => {
    const imp = await createImp();
    track(await TestDevice.connect(imp, { heartbeatMs: 500 }));
    expect((await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ presenceTimeoutS: 1 }) })).status).toBe(200);
    const online = await rowWhere(imp, (r) => r.online, "online");
    // No heartbeat: the presence alarm takes it offline after a second, and the row follows.
    const silent = await rowWhere(imp, (r) => !r.online, "offline");
    expect(silent).toMatchObject({ offlineReason: "silent", silentSince: online.onlineSince, lastSeen: online.onlineSince });
  });

  it("never writes the row for requests or heartbeats", async () => {
    const imp = await createImp();
    const live = track(await TestDevice.connect(imp));
    live.serve(() => ({ status: 200, body: "ok" }));
    await rowWhere(imp, (r) => r.online, "online");
    const before = await rev(imp);
    for (let i = 0; i < 5; i++) expect((await callerFetch(imp, "/x")).status).toBe(200);
    live.send("ping");
    expect(await rev(imp)).toBe(before);
  });

  it("pages through the fleet with cursors, filtered by tag, online and search", async () => {
    const tag = tagged("page");
    const imps: TestImp[] = [];
    for (let i = 0; i < 5; i++) {
      const imp = await createImp(`page-${i}`);
      await admin(`/imps/${imp.impId}/tags`, { method: "POST", body: JSON.stringify({ add: [tag] }) });
      imps.push(imp);
    }
    const device = track(await TestDevice.connect(imps[2]!));
    await eventually("all five tagged", async () => (await list(`tag=${tag}&limit=10`)).imps.length === 5);
    await eventually("one online", async () => (await list(`tag=${tag}&online=true`)).imps.length === 1);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: FleetPage = await list(`tag=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.imps.length).toBeLessThanOrEqual(2);
      seen.push(...page.imps.map((i) => i.label));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);

    expect((await list(`tag=${tag}&online=true`)).imps.map((i) => i.impId)).toEqual([imps[2]!.impId]);
    expect((await list(`tag=${tag}&online=false`)).imps).toHaveLength(4);
    expect((await list(`tag=${tag}&q=GE-3`)).imps.map((i) => i.label)).toEqual(["page-3"]);
    // What would be a pattern character elsewhere is matched as itself.
    expect((await list(`tag=${tag}&q=%25`)).imps).toHaveLength(0);
    expect((await list(`tag=${tag}&q=_`)).imps).toHaveLength(0);

    // A tag's pages follow the imps' online state and labels (its index holds copies of both).
    device.close();
    await eventually("none online", async () => (await list(`tag=${tag}&online=true`)).imps.length === 0);
    expect((await list(`tag=${tag}&online=false`)).imps).toHaveLength(5);
    await admin(`/imps/${imps[0]!.impId}`, { method: "PATCH", body: JSON.stringify({ label: "page-9" }) });
    await eventually("renamed, and sorted anew", async () => {
      const labels = (await list(`tag=${tag}`)).imps.map((i) => i.label);
      return labels.join() === "page-1,page-2,page-3,page-4,page-9";
    });
  });

  it("refuses a cursor it did not give out, a bad tag and a limit out of range, with 400", async () => {
    for (const q of ["cursor=bm9wZQ", "tag=Not%20A%20Tag", "limit=0", "limit=501", "online=maybe"]) {
      const res = await admin(`/imps?${q}`);
      expect(res.status, q).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("bad_request");
    }
  });

  it("repairs a row whose write failed: the dirty mark survives, and the alarm writes it once D1 takes it", async () => {
    const imp = await createImp("flaky");
    await rowWhere(imp, () => true, "the first row");
    const stub = env.IMP.getByName(imp.impId);
    // D1 refuses every write of this imp's row, as an outage would.
    const trigger = `fail_${imp.impId.replace(/[^A-Za-z0-9]/g, "_")}`;
    await env.REGISTRY.exec(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON imps WHEN NEW.imp_id = '${imp.impId}' BEGIN SELECT RAISE(ABORT, 'registry down'); END`,
    );
    try {
      track(await TestDevice.connect(imp));
      await eventually(
        "the write given up to the alarm",
        () =>
          runInDurableObject(stub, (_: ImpSession, s) => {
            const sync = s.storage.sql.exec<{ failures: number; dirty: number }>("SELECT failures, dirty FROM registry_sync").one();
            return sync.failures > 0 && sync.dirty > 0;
          }),
        10_000,
      );
      expect((await row(imp))?.online).toBe(false);
    } finally {
      await env.REGISTRY.exec(`DROP TRIGGER ${trigger}`);
    }
    // D1 is back and the retry is due: the alarm writes the latest state.
    await runInDurableObject(stub, (_: ImpSession, s) => s.storage.sql.exec("UPDATE registry_sync SET retry_at = 0"));
    await runDurableObjectAlarm(stub);
    await rowWhere(imp, (r) => r.online, "the repaired row");
  });

  it("reindex brings back a lost row from the imp's object, and drops the row of an imp that no longer exists", async () => {
    const imp = await createImp("lost");
    await rowWhere(imp, () => true, "the row");
    await env.REGISTRY.prepare("DELETE FROM imps WHERE imp_id = ?").bind(imp.impId).run();
    expect(await row(imp)).toBeUndefined();
    // An index entry and a row left behind by an imp that does not exist (an interrupted delete).
    const ghost = await mintImpId(env.AGENT_ID_KEY);
    await env.REGISTRY.batch([
      env.REGISTRY.prepare("INSERT INTO fleet_index (imp_id, added_at) VALUES (?, 0)").bind(ghost),
      env.REGISTRY.prepare(
        "INSERT INTO imps (imp_id, label, label_key, created_at, rev, written_at) VALUES (?, 'ghost', 'ghost', 0, 1, 0)",
      ).bind(ghost),
    ]);
    expect((await list(`q=${ghost}`)).imps).toHaveLength(1);

    let cursor: string | undefined;
    do {
      const res = await admin("/fleet/reindex", { method: "POST", body: JSON.stringify(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      cursor = (await res.json<{ cursor: string | null }>()).cursor ?? undefined;
    } while (cursor);

    expect(await row(imp)).toMatchObject({ impId: imp.impId, label: "lost" });
    expect((await list(`q=${ghost}`)).imps).toHaveLength(0);
  });
});
