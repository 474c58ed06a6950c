/**
 * The fleet as an operator meets it: the real edge (with the console on a host of its own,
 * as `npm start` runs it), real daemons, the real CLI. `imp list` as a table and as JSON,
 * tags, the kill switch per imp and per tag, delete, and `fleet reindex` repairing a registry
 * the edge's sudden stop left stale. And a hostile device's reply, through a real daemon.
 */
import { describe, expect, it } from "vitest";
import type { FleetImp } from "../../protocol/fleet-api.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";

const e2e = useSystem({ CONSOLE_HOST: "127.0.0.1", AGENT_HOST: "localhost" });

async function listJson(...args: string[]): Promise<FleetImp[]> {
  const r = await e2e.cli("imp", "list", "--json", ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FleetImp[];
}

const tagged = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

describe("the fleet from the CLI", () => {
  it("lists imps as a table, filters by tag and online, and tags them", async () => {
    const tag = tagged("porch");
    const { imp } = await e2e.device("porch-light");
    const idle = await e2e.imp("porch-fan");
    for (const id of [imp.impId, idle.impId]) {
      const r = await e2e.cli("imp", "tag", id, tag, "lights");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(tag);
    }
    await eventually(() => listJson("--tag", tag).then((l) => l.length === 2 && l.some((i) => i.online)), {
      timeout: 10_000,
      what: "both listed",
    });

    const table = await e2e.cli("imp", "list", "--tag", tag);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^LABEL\s+IMP\s+STATUS\s+LAST SEEN\s+AGENT\s+QUEUED\s+TAGS$/);
    expect(lines.find((l) => l.startsWith("porch-light"))).toMatch(new RegExp(`${imp.impId}\\s+online\\s+now\\s+tunnel\\s+0\\s+`));
    expect(lines.find((l) => l.startsWith("porch-fan"))).toMatch(/\soffline\s+never\s/);

    expect((await listJson("--tag", tag, "--online")).map((i) => i.label)).toEqual(["porch-light"]);
    expect((await listJson("--tag", tag, "--offline")).map((i) => i.label)).toEqual(["porch-fan"]);
    expect((await e2e.cli("imp", "list", "--online", "--offline")).code).toBe(2);
    const removed = await e2e.cli("imp", "tag", idle.impId, "--remove", tag);
    expect(removed.stdout).toBe("tags: lights\n");
  });

  it("disables an imp (423 for every caller, nothing reaches the device), enables it, and does the same for a tag", async () => {
    const tag = tagged("batch");
    const a = await e2e.device("door-a");
    const b = await e2e.device("door-b");
    for (const d of [a, b]) expect((await e2e.cli("imp", "tag", d.imp.impId, tag)).code).toBe(0);

    const off = await e2e.cli("imp", "disable", a.imp.impId, "--reason", "recalled");
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain("423 Locked");
    const locked = await e2e.call(a.imp, "/open", { method: "POST" });
    expect(locked.status).toBe(423);
    expect(JSON.parse(locked.body.toString())).toEqual({ error: { code: "locked", message: "Locked" } });
    expect((await e2e.request(`${a.imp.agentUrl}/open`)).status).toBe(423);
    expect(a.service.received).toHaveLength(0);
    const shown = await e2e.cli("imp", "show", a.imp.impId);
    expect(shown.stdout).toMatch(/DISABLED: .* by \S+@\S+: recalled/);
    expect((await e2e.cli("imp", "enable", a.imp.impId)).code).toBe(0);
    expect((await e2e.call(a.imp, "/open", { method: "POST" })).status).toBe(200);

    await eventually(() => listJson("--tag", tag).then((l) => l.length === 2), { timeout: 10_000, what: "both tagged in the registry" });
    const fleetOff = await e2e.cli("fleet", "disable", "--tag", tag, "--reason", "batch recall");
    expect(fleetOff.code, fleetOff.stderr).toBe(0);
    expect(fleetOff.stdout).toContain(`disabled 2 imps tagged ${tag}`);
    for (const d of [a, b]) expect((await e2e.call(d.imp, "/x")).status).toBe(423);
    expect((await e2e.cli("fleet", "enable", "--tag", tag)).code).toBe(0);
    for (const d of [a, b]) expect((await e2e.call(d.imp, "/x")).status).toBe(200);
  });

  it("deletes an imp: its daemon is told it is gone for good, and its agent URL answers like an unknown one", async () => {
    const { imp, daemon } = await e2e.device("doomed");
    const refused = await e2e.cli("imp", "delete", imp.impId);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--yes");
    const r = await e2e.cli("imp", "delete", imp.impId, "--yes");
    expect(r.code, r.stderr).toBe(0);
    expect(await daemon.exited()).toBe(10);
    const gone = await e2e.request(`${imp.agentUrl}/x`);
    const never = await e2e.request(`${imp.agentUrl.slice(0, -8)}AAAAAAAA/x`);
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).toBe(never.body.toString());
    expect((await e2e.cli("imp", "show", imp.impId)).code).toBe(1);
    expect(await listJson("--search", imp.impId)).toEqual([]);
  });

  it("reindex repairs the registry the edge's sudden stop left stale", async () => {
    const { imp, daemon } = await e2e.device("stale");
    await eventually(() => listJson("--search", imp.impId).then((l) => l[0]?.online === true), {
      timeout: 10_000,
      what: "online in the registry",
    });
    // The edge is killed while the device is connected: no disconnect is ever seen, and the
    // device does not come back (it is stopped while the edge is down).
    await e2e.system.restartEdge(() => daemon.stop());
    expect((await listJson("--search", imp.impId))[0]?.online).toBe(true);

    const r = await e2e.cli("fleet", "reindex");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reindexed the fleet registry: \d+ rows written, 0 removed/);
    expect((await listJson("--search", imp.impId))[0]).toMatchObject({ online: false, label: "stale" });
  });
});

describe("the console's and the agents' origins", () => {
  it("keep to their own paths on the real edge", async () => {
    const { imp } = await e2e.device("origins");
    const consoleOrigin = e2e.system.consoleOrigin;
    expect(new URL(consoleOrigin).hostname).toBe("127.0.0.1");
    expect(new URL(imp.agentUrl).hostname).toBe("localhost");
    const secret = { authorization: `Bearer ${e2e.system.secrets.ADMIN_SECRET}` };
    expect((await e2e.request(`${e2e.system.edge.origin}/admin/imps`, { headers: secret })).status).toBe(404);
    expect((await e2e.request(`${e2e.system.edge.origin}/console/sign-in`)).status).toBe(404);
    expect((await e2e.request(`${consoleOrigin}/admin/imps`, { headers: secret })).status).toBe(200);
    expect((await e2e.request(`${consoleOrigin}/console/sign-in`)).status).toBe(200);
    expect((await e2e.request(`${consoleOrigin}${new URL(imp.agentUrl).pathname}/x`)).status).toBe(404);
  });

  it("confine a hostile device's reply relayed by a real daemon", async () => {
    const { imp, service } = await e2e.device("hostile", {
      service: (_req, res) => {
        res.writeHead(200, {
          "content-type": "text/html",
          "set-cookie": ["session=evil; Path=/", "x=1; Domain=localhost; Path=/admin"],
          "access-control-allow-origin": "https://evil.example",
          "access-control-allow-credentials": "true",
          "content-security-policy": "script-src 'unsafe-inline'",
          "strict-transport-security": "max-age=0",
        });
        res.end("<script>alert(document.cookie)</script>");
      },
    });
    const res = await e2e.call(imp, "/page");
    expect(service.received).toHaveLength(1);
    const path = new URL(imp.agentUrl).pathname;
    expect(res.headers["set-cookie"]).toEqual([`session=evil; Path=${path}/`, `x=1; Path=${path}/admin`]);
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
  });
});
