/**
 * A sealed round trip beside a plain one, on the same imp, the same edge and the same daemon
 * (`impgate-device` as shipped, in tunnel mode, with an `e2e` section that takes both):
 * req/s, latency, and the CPU each part spends per request: the callers (sealing and
 * opening), the edge (relaying bytes it cannot read) and the device (opening, the replay
 * memory on disk, sealing the reply). The callers run in a process of their own
 * (bench/sealed/caller.ts) so their CPU is theirs alone.
 */
import { writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair } from "jose";
import { buildDevice } from "../../dev/build-device.ts";
import { fingerprint } from "../../protocol/sealed/statement.ts";
import { authorizationHeader } from "../caller-auth.ts";
import type { BenchContext } from "../context.ts";
import type { Edge } from "../edge/edges.ts";
import { deviceTemplate } from "../fleet/fleet.ts";
import { cpuSeconds } from "../measure/procfs.ts";
import { round } from "../measure/stats.ts";
import { startChild } from "../processes.ts";
import { type AdminAccess, provisionImps } from "../provision.ts";
import { BENCH_REPLY } from "../reply.ts";
import type { Results } from "../results.ts";
import type { SealedRunResult } from "../sealed/caller.ts";

export async function sealedPhase(ctx: BenchContext, edge: Edge): Promise<NonNullable<Results["sealed"]>> {
  const { options, pki } = ctx;
  const admin: AdminAccess = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: pki.caPem };
  ctx.say("sealed round trip: provisioning an imp that takes sealed and plain requests, and its daemon…");
  const provisioned = await provisionImps(admin, 1);
  const imp = provisioned.imps[0]!;
  const patch = await fetchAdmin(admin, `/imps/${imp.impId}`, { e2e: "optional" });
  if (patch !== 200) throw new Error(`setting --e2e optional answered ${patch}`);
  const sender = await exportJWK((await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey);
  const { d: _d, ...senderPublic } = sender;
  const config = join(ctx.tmp, "sealed-device.json");
  await writeFile(
    config,
    JSON.stringify({
      ...deviceTemplate(edge.origin, provisioned, pki, ctx.backupCaPem),
      impId: imp.impId,
      deviceKey: imp.deviceKey,
      stateDir: join(ctx.tmp, "sealed-device.state"),
      e2e: { senders: [senderPublic], allowPlaintext: true },
    }),
    { mode: 0o600 },
  );
  const service = http.createServer((_req, res) =>
    res.writeHead(BENCH_REPLY.status, Object.fromEntries(BENCH_REPLY.headers)).end(BENCH_REPLY.body),
  );
  await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
  const forward = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
  const bundle = await buildDevice(join(ctx.tmp, "sealed-impgate-device.mjs"));
  const daemon = await startChild("sealed-impgate-device", pathToFileURL(bundle), {
    ipc: false,
    args: ["--config", config, "--forward", forward],
  });
  const callers = await startChild("sealed-callers", new URL("../sealed/caller.ts", import.meta.url));
  try {
    await daemon.waitForOutput(/"msg":"key statement sent to the edge"/, 30_000);
    const pin = await fingerprint(imp.deviceKey);
    const rows: NonNullable<Results["sealed"]>["rows"] = [];
    for (const [i, connections] of options.sealedConcurrency.entries()) {
      const kinds = i % 2 === 0 ? (["plain", "sealed"] as const) : (["sealed", "plain"] as const);
      for (const kind of kinds) {
        ctx.say(`  ${kind}: ${connections} caller${connections === 1 ? "" : "s"}, ${options.durationS} s…`);
        const { authorization = "" } = await authorizationHeader(imp.agentUrl, { impId: imp.impId, admin });
        const pids = { caller: callers.pid, edge: edge.workerdPid, device: daemon.pid };
        const args = { kind, agentUrl: imp.agentUrl, impId: imp.impId, pin, sender, authorization, ca: pki.caPem, connections };
        const timeoutMs = options.durationS * 1000 + 60_000;
        if (options.warmupS > 0) await callers.call("run", { ...args, durationS: options.warmupS }, timeoutMs);
        const before = cpuOf(pids);
        const r = await callers.call<SealedRunResult>("run", { ...args, durationS: options.durationS }, timeoutMs);
        const after = cpuOf(pids);
        if (r.requests === 0) throw new Error(`the ${kind} round trip answered nothing (${r.non2xx} refused, ${r.errors} errors)`);
        const answered = r.requests + r.non2xx + r.errors;
        const per = (k: keyof typeof pids) => round(((after[k] - before[k]) * 1e6) / answered, 0);
        rows.push({ kind, connections, ...r, callerCpuUs: per("caller"), edgeCpuUs: per("edge"), deviceCpuUs: per("device") });
      }
    }
    return { durationS: options.durationS, warmupS: options.warmupS, rows };
  } finally {
    await Promise.all([callers.stop(), daemon.stop()]);
    service.closeAllConnections();
    service.close();
  }
}

function cpuOf(pids: { caller: number; edge: number; device: number }) {
  return { caller: cpuSeconds(pids.caller) ?? 0, edge: cpuSeconds(pids.edge) ?? 0, device: cpuSeconds(pids.device) ?? 0 };
}

async function fetchAdmin(admin: AdminAccess, path: string, body: unknown): Promise<number> {
  const https = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${admin.origin}/admin${path}`,
      {
        method: "PATCH",
        ca: admin.ca,
        headers: { authorization: `Bearer ${admin.adminSecret}`, "content-type": "application/json" },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
