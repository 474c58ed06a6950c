/**
 * The daemon's resident memory when idle: the real `impgate-device`, as shipped to devices
 * (`npm run build:device`: one bundled file), in tunnel mode in front of a small local
 * service, connected over pinned TLS, after one request.
 */

import { writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildDevice } from "../../dev/build-device.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { authorizationHeader } from "../caller-auth.ts";
import type { BenchContext } from "../context.ts";
import type { Edge } from "../edge/edges.ts";
import { deviceTemplate } from "../fleet/fleet.ts";
import { checkOnce } from "../load.ts";
import { MiB } from "../measure/memory.ts";
import { memoryBreakdown } from "../measure/procfs.ts";
import { round } from "../measure/stats.ts";
import { startChild } from "../processes.ts";
import type { Provisioned } from "../provision.ts";
import { BENCH_REPLY } from "../reply.ts";
import type { Results } from "../results.ts";

export async function daemonPhase(ctx: BenchContext, edge: Edge, provisioned: Provisioned): Promise<Results["daemon"]> {
  const imp = provisioned.imps[0]!;
  const config = join(ctx.tmp, "daemon-device.json");
  await writeFile(
    config,
    JSON.stringify({ ...deviceTemplate(edge.origin, provisioned, ctx.pki, ctx.backupCaPem), impId: imp.impId, deviceKey: imp.deviceKey }),
    { mode: 0o600 },
  );

  const service = http.createServer((_req, res) =>
    res.writeHead(BENCH_REPLY.status, Object.fromEntries(BENCH_REPLY.headers)).end(BENCH_REPLY.body),
  );
  await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
  const forward = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

  ctx.say("building and starting the impgate-device daemon (as shipped) for its idle memory…");
  const bundle = await buildDevice(join(ctx.tmp, "impgate-device.mjs"));
  const daemon = await startChild("impgate-device", pathToFileURL(bundle), {
    ipc: false,
    args: ["--config", config, "--forward", forward],
  });
  try {
    await daemon.waitForOutput(/"msg":"ready"/, 30_000);
    const admin = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: ctx.pki.caPem };
    await checkOnce(
      `${imp.agentUrl}/bench`,
      ctx.pki.caPem,
      await authorizationHeader(imp.agentUrl, { impId: imp.impId, admin }),
      BENCH_REPLY.body,
    );
    // The same Node doing nothing, idling as long: how much of the daemon is Node itself.
    const bare = await startChild("node-idle", pathToFileURL(join(PROJECT_ROOT, "bench", "measure", "idle.js")), { ipc: false });
    await new Promise((r) => setTimeout(r, ctx.options.daemonIdleS * 1000));
    const idle = memoryBreakdown(daemon.pid);
    const node = memoryBreakdown(bare.pid);
    await bare.stop();
    if (!idle) throw new Error(`the daemon exited while idle\n${daemon.output()}`);
    if (!node) throw new Error("an idle Node process exited by itself");
    const mib = (n: number) => round(n / MiB, 1);
    return {
      idleRssMiB: mib(idle.rss),
      anonMiB: mib(idle.anon),
      fileMiB: mib(idle.file),
      peakRssMiB: mib(idle.peak),
      nodeIdleRssMiB: mib(node.rss),
      nodeIdleAnonMiB: mib(node.anon),
    };
  } finally {
    await daemon.stop();
    service.closeAllConnections();
    service.close();
  }
}
