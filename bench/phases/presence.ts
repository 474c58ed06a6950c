/**
 * What presence checks cost. One fleet of idle devices (the daemon's library, default 15 s
 * heartbeat) stays connected to one edge; a tail worker counts every invocation of the
 * imps' objects, and /proc the edge's CPU, over a window with presence checks on (the
 * default 45 s timeout), then over the same window with them off (timeout 0) for the
 * same fleet. Heartbeats are answered by the runtime and wake nothing in either row; what
 * the rows share (health reports every 5 minutes, the heartbeats' TLS) cancels out of the
 * difference, which is the price of presence.
 */
import https from "node:https";
import { join } from "node:path";
import { DEFAULT_PRESENCE_TIMEOUT_S } from "../../protocol/admin-api.ts";
import { DEFAULT_HEARTBEAT } from "../../protocol/version.ts";
import type { BenchContext } from "../context.ts";
import { type Edge, startEdge } from "../edge/edges.ts";
import type { Invocations } from "../edge/host.ts";
import { deviceTemplate, startFleet } from "../fleet/fleet.ts";
import { cpuSeconds } from "../measure/procfs.ts";
import { round } from "../measure/stats.ts";
import { type AdminAccess, type ProvisionedImp, provisionImps } from "../provision.ts";
import type { PresenceCost } from "../results.ts";

const CONNECT_TIMEOUT_MS = { full: 180_000, quick: 30_000 };
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

export async function presencePhase(ctx: BenchContext): Promise<PresenceCost> {
  const { options } = ctx;
  const devices = options.presenceDevices;
  ctx.say(`presence: ${devices} idle devices, object wake-ups and edge CPU with presence checks on and off…`);
  const edge = await startEdge("edge-presence", {
    bundle: ctx.impgate,
    bindings: { ...ctx.secrets },
    persistDir: join(ctx.tmp, "presence-state"),
    pki: ctx.pki,
    countInvocations: true,
  });
  const fleet = await startFleet(devices);
  try {
    const admin: AdminAccess = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: ctx.pki.caPem };
    const provisioned = await provisionImps(admin, devices);
    const report = await fleet.connect({
      template: deviceTemplate(edge.origin, provisioned, ctx.pki, ctx.backupCaPem),
      imps: provisioned.imps,
      concurrency: 32,
      timeoutMs: CONNECT_TIMEOUT_MS[options.mode],
    });
    if (report.ready < devices) ctx.say(`  only ${report.ready} of ${devices} devices connected`);

    await sleep(options.presenceSettleS);
    const on = await measure(edge, options.presenceWindowS);
    await setPresenceTimeout(admin, provisioned.imps, 0);
    await sleep(options.presenceSettleS);
    const off = await measure(edge, options.presenceWindowS);

    const perHour = (perMin: number) => ((perMin * 60) / Math.max(1, report.ready)) as number;
    return {
      devices,
      connected: report.ready,
      heartbeatS: DEFAULT_HEARTBEAT.intervalMs / 1000,
      windowS: options.presenceWindowS,
      rows: [
        { label: `presence checks on (${DEFAULT_PRESENCE_TIMEOUT_S} s)`, presenceTimeoutS: DEFAULT_PRESENCE_TIMEOUT_S, ...on },
        { label: "presence checks off", presenceTimeoutS: 0, ...off },
      ],
      perDeviceHour: {
        wakeups: round(perHour(on.wakeupsPerMin - off.wakeupsPerMin), 1),
        cpuMs: round(perHour(on.edgeCpuSPerMin - off.edgeCpuSPerMin) * 1000, 2),
      },
    };
  } finally {
    await fleet.stop();
    await edge.stop();
  }
}

/** Wake-ups of the imps' objects and the edge's CPU over `windowS`, per minute. */
async function measure(edge: Edge, windowS: number) {
  await edge.invocations();
  const cpuBefore = cpuSeconds(edge.workerdPid) ?? NaN;
  const started = performance.now();
  await sleep(windowS);
  const cpu = (cpuSeconds(edge.workerdPid) ?? NaN) - cpuBefore;
  const minutes = (performance.now() - started) / 60_000;
  // Tails arrive a moment after their invocation; what lands after the read counts in the next window.
  const seen = await edge.invocations();
  const of = (kind?: string) =>
    Object.entries(seen as Invocations)
      .filter(([key]) => key.startsWith("ImpSession:") && (!kind || key.endsWith(`:${kind}`)))
      .reduce((n, [, count]) => n + count, 0);
  return {
    wakeupsPerMin: round(of() / minutes, 1),
    alarmsPerMin: round(of("alarm") / minutes, 1),
    edgeCpuSPerMin: round(cpu / minutes, 3),
  };
}

/** `PATCH /admin/imps/<imp>` for each imp, a few at a time. */
async function setPresenceTimeout(admin: AdminAccess, imps: ProvisionedImp[], presenceTimeoutS: number): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: admin.ca });
  let next = 0;
  const worker = async () => {
    while (next < imps.length) {
      const imp = imps[next++];
      if (imp) await patch(agent, admin, `/imps/${imp.impId}`, { presenceTimeoutS });
    }
  };
  try {
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    agent.destroy();
  }
}

function patch(agent: https.Agent, admin: AdminAccess, path: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${admin.origin}/admin${path}`,
      {
        method: "PATCH",
        agent,
        headers: { authorization: `Bearer ${admin.adminSecret}`, "content-type": "application/json" },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${path} answered ${res.statusCode}`))));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`PATCH ${path} timed out`)));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
