/**
 * Presence when the network, not the daemon, goes quiet: the daemon runs in a network
 * namespace of its own and reaches the edge through a veth pair; the test drops every
 * packet on it, both ways, with no FIN or RST (a dead Wi-Fi, a NAT that forgot the
 * connection): an nftables drop rule where `nft` is installed, else the veth set down. The edge must take the device offline within the presence
 * timeout and answer 503 at once; the daemon must notice too and, once the link is back,
 * reconnect by itself and get the messages queued meanwhile, once.
 *
 * Needs root and iproute2 (CI runs as root, and installs iproute2 and nftables); elsewhere it
 * is skipped with one line saying why.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it, onTestFailed } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import type { ImpView } from "../../protocol/admin-api.ts";
import { Daemon } from "../helpers/daemon.ts";
import { useSystem } from "../helpers/e2e.ts";
import { eventually } from "../helpers/eventually.ts";
import { deviceNetworkUnavailable, makeDeviceNetwork } from "../helpers/netns.ts";

/** As in presence.test.ts: a ping every 500 ms, a pong late after a second, offline after 2 s of silence. */
const QUICK_HEARTBEAT = { intervalMs: 500, timeoutMs: 1000 };
const PRESENCE_TIMEOUT_S = 2;

const unavailable = await deviceNetworkUnavailable();
if (unavailable) console.warn(`presence-netns: skipped: a network namespace needs root and iproute2 (${unavailable})`);

describe.skipIf(unavailable)("presence with the device's packets dropped", () => {
  const e2e = useSystem();

  it("takes the device offline within the timeout, answers 503 at once, and has it back with its messages once the link returns", async () => {
    const network = await makeDeviceNetwork();
    e2e.defer(() => network.remove());
    onTestFailed(() => console.error(`the link was cut by: ${network.cutBy}`));
    const service = await e2e.service((_req, res) => void res.writeHead(204).end());
    await network.relay(e2e.system.edge.port);
    await network.relay(service.port);
    const imp = await e2e.imp("netns", (c) => ({ ...c, heartbeat: QUICK_HEARTBEAT }));
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        network.name,
        process.execPath,
        join(PROJECT_ROOT, "bin", "impgate-device.js"),
        "--config",
        imp.config,
        "--forward",
        `http://${network.hostAddress}:${service.port}`,
      ],
      { cwd: PROJECT_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    const daemon = new Daemon(child, "daemon (in its namespace)");
    e2e.defer(() => daemon.stop());
    onTestFailed(() => console.error(`--- ${daemon.name} logged ---\n${daemon.log()}`));
    await daemon.waitReady(20_000);
    expect((await e2e.cli("imp", "set", imp.impId, "--presence-timeout", String(PRESENCE_TIMEOUT_S))).code).toBe(0);
    expect((await e2e.call(imp, "/before")).status).toBe(204);

    const cutAt = Date.now();
    await network.setLink(false);
    const show = async () => JSON.parse((await e2e.cli("imp", "show", imp.impId, "--json")).stdout) as ImpView;
    const view = await eventually(async () => ((v) => (v.online ? null : v))(await show()), { timeout: 10_000, what: "offline" });
    expect(view).toMatchObject({ offlineReason: "silent" });
    expect((view.offlineSince ?? 0) - cutAt).toBeLessThan(PRESENCE_TIMEOUT_S * 1000 + 2500);
    const asked = Date.now();
    const refused = await e2e.call(imp, "/during");
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("10");
    const posted = await e2e.call(imp, "/_messages?name=while-cut", { method: "POST", body: "x" });
    expect(posted.status).toBe(202);
    const id = (JSON.parse(posted.body.toString()) as { id: string }).id;
    // The daemon hears nothing either, and drops the link within its heartbeat's interval + timeout.
    await daemon.waitFor((l) => /^heartbeat (lost|overdue)/.test(String(l.msg)), 5000, "the daemon noticing");

    await network.setLink(true);
    await daemon.waitReady(30_000, 1);
    await eventually(
      async () => (JSON.parse((await e2e.call(imp, `/_messages/${id}`)).body.toString()) as { status: string }).status === "delivered",
      { timeout: 15_000, what: "the message queued while cut off delivered" },
    );
    expect((await show()).online).toBe(true);
    expect(service.received.map((r) => r.url)).toEqual(["/before", "/_impgate/messages/while-cut"]);
    expect((await e2e.call(imp, "/after")).status).toBe(204);
  });
});
