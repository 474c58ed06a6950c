/**
 * Presence, as an outsider sees it: the real edge and the real daemon as processes. A
 * daemon frozen with SIGSTOP keeps its TCP connection open and answers nothing: the edge
 * must take it offline within the imp's presence timeout, answer its callers 503 at once,
 * and have it online again, with its queued messages delivered once, when it thaws. And
 * the other way round: an edge frozen under a live daemon, which must reconnect by itself.
 */
import { describe, expect, it } from "vitest";
import type { ImpView } from "../../protocol/admin-api.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import type { CreatedImp } from "../helpers/system.ts";

/** Short enough for a test: a ping every 500 ms, a pong late after a second, offline after 2 s of silence. */
const QUICK_HEARTBEAT = { intervalMs: 500, timeoutMs: 1000 };
const PRESENCE_TIMEOUT_S = 2;

describe("presence, end to end", () => {
  const e2e = useSystem();

  async function show(imp: CreatedImp): Promise<ImpView> {
    const r = await e2e.cli("imp", "show", imp.impId, "--json");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as ImpView;
  }

  /** Freezes a process group (SIGSTOP) until the returned function thaws it; thawed at the test's end whatever happens. */
  function freeze(pid: number | undefined): () => void {
    if (pid === undefined) throw new Error("no process to freeze");
    let frozen = true;
    const thaw = () => {
      if (frozen) process.kill(-pid, "SIGCONT");
      frozen = false;
    };
    process.kill(-pid, "SIGSTOP");
    e2e.defer(thaw);
    return thaw;
  }

  async function post(imp: CreatedImp, name: string): Promise<string> {
    const res = await e2e.call(imp, `/_messages?name=${name}`, { method: "POST", body: name });
    expect(res.status).toBe(202);
    return (JSON.parse(res.body.toString()) as { id: string }).id;
  }

  async function statusOf(imp: CreatedImp, id: string): Promise<string> {
    return (JSON.parse((await e2e.call(imp, `/_messages/${id}`)).body.toString()) as { status: string }).status;
  }

  it("takes a frozen daemon offline within the timeout, answers 503 at once, and has it back with its messages delivered once", async () => {
    // The local service holds /slow until the end, so a request is waiting when the daemon freezes.
    const service = await e2e.service((req, res) => {
      if (req.url === "/slow") return;
      res.writeHead(204).end();
    });
    const { imp, daemon } = await e2e.device("frozen", { service, edit: (c) => ({ ...c, heartbeat: QUICK_HEARTBEAT }) });
    expect((await e2e.cli("imp", "set", imp.impId, "--presence-timeout", String(PRESENCE_TIMEOUT_S))).code).toBe(0);
    const waiting = e2e.call(imp, "/slow");
    await eventually(() => service.received.some((r) => r.url === "/slow"), { timeout: 10_000, what: "the request at the service" });

    const frozenAt = Date.now();
    const thaw = freeze(daemon.child.pid);
    // Sent while the edge still takes the link for alive: it waits in the frozen daemon's socket.
    const first = await post(imp, "first");

    // The waiting request is answered 503 device_silent, long before its 30 s deadline.
    const silent = await waiting;
    expect(silent.status).toBe(503);
    expect(JSON.parse(silent.body.toString()).error.code).toBe("device_silent");
    expect(silent.headers["retry-after"]).toBe("10");
    const view = await eventually(async () => ((v) => (v.online ? null : v))(await show(imp)), {
      timeout: 10_000,
      what: "the device offline",
    });
    expect(view).toMatchObject({ online: false, offlineReason: "silent" });
    expect(view.silentSince).toBeGreaterThanOrEqual(frozenAt - 1000);
    expect(view.offlineSince! - frozenAt).toBeLessThan(PRESENCE_TIMEOUT_S * 1000 + 2500);
    const show_ = await e2e.cli("imp", "show", imp.impId);
    expect(show_.stdout).toMatch(/device: +offline since \S+ \(went silent at \S+: nothing heard for \d+ s\)/);

    // A caller now hears it at once.
    const asked = Date.now();
    const refused = await e2e.call(imp, "/hello");
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("10");
    expect(JSON.parse(refused.body.toString()).error.code).toBe("device_offline");
    const second = await post(imp, "second");

    thaw();
    await daemon.waitReady(15_000, 1);
    expect((await show(imp)).online).toBe(true);
    await eventually(async () => (await statusOf(imp, second)) === "delivered", { timeout: 15_000, what: "the queued messages delivered" });
    expect(await statusOf(imp, first)).toBe("delivered");
    const messages = service.received.filter((r) => r.url.startsWith("/_impgate/messages/")).map((r) => r.url);
    expect(messages).toEqual(["/_impgate/messages/first", "/_impgate/messages/second"]);
    expect((await e2e.call(imp, "/hello")).status).toBe(204);
    const audit = await e2e.cli("audit", imp.impId, "--json");
    expect(audit.stdout).toContain("device_silent");
  });

  it("refuses, in one line, a presence timeout that leaves no room for two heartbeats", async () => {
    const imp = await e2e.imp("too-short");
    const refused = await e2e.cli("imp", "set", imp.impId, "--presence-timeout", "20");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/at least 30 s, twice the device's heartbeat interval \(15 s\), or 0 to turn presence checks off/);
    const set = await e2e.cli("imp", "set", imp.impId, "--presence-timeout", "60");
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/presence: +offline after 60 s without a heartbeat/);
  });

  it("reconnects by itself when the edge froze under it and came back", async () => {
    const { imp, daemon } = await e2e.device("edge-frozen", { edit: (c) => ({ ...c, heartbeat: QUICK_HEARTBEAT }) });
    const thaw = freeze(e2e.system.edge.child.pid);
    try {
      // The daemon notices within its heartbeat interval + timeout (1.5 s here), and keeps trying.
      const line = await daemon.waitFor((l) => /^heartbeat (lost|overdue)/.test(String(l.msg)), 5000, "the heartbeat loss");
      expect(line.level).toBe("warn");
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      thaw();
    }
    await daemon.waitReady(30_000, 1);
    await eventually(async () => (await show(imp)).online, { timeout: 15_000, what: "the device online again" });
    expect((await e2e.call(imp, "/back")).status).toBe(200);
  });
});
