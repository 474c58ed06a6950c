/**
 * `npm run bench -- --profile`: where impgate's edge spends its CPU on the agent round trip.
 * A CPU profile of the worker and its Durable Objects (one isolate) under 16 callers, written
 * as a .cpuprofile (Chrome DevTools, Performance panel) with a self-time summary printed.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { freePort } from "../../dev/ports.ts";
import { authorizationHeader, CALLER_AUTH } from "../caller-auth.ts";
import type { BenchContext } from "../context.ts";
import { startEdge } from "../edge/edges.ts";
import { deviceTemplate, startFleet } from "../fleet/fleet.ts";
import { checkOnce, load } from "../load.ts";
import { attachProfiler, bundleLocator, byComponent, selfTime } from "../measure/cpu-profile.ts";
import { provisionImps } from "../provision.ts";
import { BENCH_REPLY } from "../reply.ts";

const CALLERS = 16;

export async function profilePhase(ctx: BenchContext, outFile: string): Promise<string> {
  const inspectorPort = await freePort();
  const edge = await startEdge("edge-impgate-profiled", {
    bundle: ctx.impgate,
    bindings: { ...ctx.secrets },
    persistDir: join(ctx.tmp, "profile-state"),
    pki: ctx.pki,
    inspectorPort,
  });
  const admin = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: ctx.pki.caPem };
  const provisioned = await provisionImps(admin, 1);
  const imp = provisioned.imps[0]!;
  const fleet = await startFleet(1);
  try {
    await fleet.connect({
      template: deviceTemplate(edge.origin, provisioned, ctx.pki, ctx.backupCaPem),
      imps: [imp],
      concurrency: 1,
      timeoutMs: 30_000,
    });
    const url = `${imp.agentUrl}/bench`;
    const headers = () => authorizationHeader(imp.agentUrl, { impId: imp.impId, admin });
    await checkOnce(url, ctx.pki.caPem, await headers(), BENCH_REPLY.body);
    const options = {
      connections: CALLERS,
      warmupS: ctx.options.warmupS,
      durationS: ctx.options.durationS,
      ca: ctx.pki.caPem,
      cpu: { edge: edge.workerdPid, device: fleet.hosts[0]!.pid },
    };
    await load(url, { ...options, headers: await headers(), durationS: options.warmupS, warmupS: 0 });

    ctx.say(`profiling ${CALLER_AUTH.label}'s edge, ${CALLERS} callers, ${options.durationS} s…`);
    const profiler = await attachProfiler(inspectorPort);
    await profiler.start();
    const result = await load(url, { ...options, headers: await headers(), warmupS: 0 });
    const profile = await profiler.stop();
    profiler.close();
    await writeFile(outFile, JSON.stringify(profile));

    const locate = await bundleLocator(`${ctx.impgate.main}.map`, PROJECT_ROOT);
    const lines = selfTime(profile, 30, locate).map((s) => `${(s.share * 100).toFixed(1).padStart(5)}%  ${s.frame}`);
    const parts = byComponent(profile, result.rps * result.durationS, locate).map(
      (c) => `${c.usPerRequest.toFixed(0).padStart(6)} µs  ${(c.share * 100).toFixed(1).padStart(5)}%  ${c.component}`,
    );
    return [
      `${CALLER_AUTH.label}, ${CALLERS} callers: ${Math.round(result.rps)} req/s, ${result.edgeCpuUs} µs edge CPU per request (the inspector adds its own)`,
      "the isolate's busy time per request by component (sampled wall time while JS ran: on a busy machine it runs over the CPU time):",
      ...parts,
      "self time, share of the edge isolate's busy samples ((program): runtime outside JS; (garbage collector): GC):",
      ...lines,
      `profile: ${outFile} (open in Chrome DevTools → Performance)`,
    ].join("\n");
  } finally {
    await fleet.stop();
    await edge.stop();
  }
}
