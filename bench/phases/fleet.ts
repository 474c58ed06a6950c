/**
 * How the edge grows with the fleet. Imps are provisioned, then the edge is restarted so
 * no Durable Object is in memory; devices connect (the first step one at a time, for the
 * connect time), and the workerd process's RSS is read at each step once it settles.
 * Then a fresh edge takes `stormDevices` devices connecting all at once, and the control
 * relay takes as many idle devices as the last step, to show what is the platform's.
 */
import https from "node:https";
import { join } from "node:path";
import type { BenchContext } from "../context.ts";
import { type Edge, startEdge } from "../edge/edges.ts";
import { deviceTemplate, startFleet } from "../fleet/fleet.ts";
import { MiB, settledRss } from "../measure/memory.ts";
import { rssBytes } from "../measure/procfs.ts";
import { round, summarize } from "../measure/stats.ts";
import { startChild } from "../processes.ts";
import { type AdminAccess, provisionImps } from "../provision.ts";
import type { Results } from "../results.ts";

export type FleetOutcome = Pick<Results, "deviceConnect" | "fleetConnect" | "edgeMemory">;

/** Minimum wait before reading an idle fleet's memory: the handshake alarm (5 s) plus eviction of idle objects. */
const HIBERNATE_S = { full: 18, quick: 0.5 };
/** Longest a connect step may take before the run reports how far it got. */
const CONNECT_TIMEOUT_MS = { full: 180_000, quick: 30_000 };

export async function fleetPhase(ctx: BenchContext): Promise<FleetOutcome> {
  const { options } = ctx;
  const devices = Math.max(...options.fleetSteps, options.stormDevices);
  const persistDir = join(ctx.tmp, "fleet-state");
  const start = async (name: string) => {
    const edge = await startEdge(name, { bundle: ctx.impgate, bindings: { ...ctx.secrets }, persistDir, pki: ctx.pki });
    await warm(edge, ctx);
    return edge;
  };

  ctx.say(`provisioning ${devices} imps…`);
  let edge = await start("edge-fleet-provision");
  const admin: AdminAccess = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: ctx.pki.caPem };
  const provisioned = await provisionImps(admin, devices);
  await edge.stop();

  edge = await start("edge-fleet");
  const fleet = await startFleet(devices);
  const template = () => deviceTemplate(edge.origin, provisioned, ctx.pki, ctx.backupCaPem);
  try {
    const baseline = await settledRss(edge.workerdPid, 0, Math.min(5, options.settleMaxS));
    const steps: Results["edgeMemory"]["steps"] = [];
    let deviceConnect: Results["deviceConnect"] | undefined;
    let connected = 0;
    for (const [i, step] of options.fleetSteps.entries()) {
      const batch = provisioned.imps.slice(connected, step);
      ctx.say(i === 0 ? `connecting ${step} devices one at a time…` : `connecting devices up to ${step}…`);
      const report = await fleet.connect({
        template: template(),
        imps: batch,
        concurrency: i === 0 ? 1 : 32,
        timeoutMs: CONNECT_TIMEOUT_MS[options.mode],
        spread: i !== 0,
      });
      if (i === 0) deviceConnect = summarize(report.connectMs);
      connected += report.ready;
      const active = rssBytes(edge.workerdPid) ?? NaN;
      const idle = await settledRss(edge.workerdPid, HIBERNATE_S[options.mode], options.settleMaxS);
      steps.push({
        devices: step,
        connected,
        activeMiB: round(active / MiB, 1),
        idleMiB: round(idle.bytes / MiB, 1),
        settledAfterS: idle.afterS,
        perDeviceKiB: round((idle.bytes - baseline.bytes) / 1024 / step, 1),
      });
      if (report.ready < batch.length) {
        ctx.say(`  only ${connected} of ${step} devices connected; stopping the ramp here`);
        break;
      }
    }
    await fleet.close();
    await edge.stop();

    ctx.say(`restarting the edge; ${options.stormDevices} devices connect at once…`);
    edge = await start("edge-fleet-storm");
    const storm = await fleet.connect({
      template: template(),
      imps: provisioned.imps.slice(0, options.stormDevices),
      concurrency: options.stormDevices,
      timeoutMs: CONNECT_TIMEOUT_MS[options.mode],
    });
    if (storm.ready === 0) throw new Error("no device connected to the restarted edge");
    await fleet.stop();
    await edge.stop();

    return {
      deviceConnect: deviceConnect!,
      edgeMemory: { baselineMiB: round(baseline.bytes / MiB, 1), steps, control: await controlFleet(ctx, steps.at(-1)!.devices) },
      fleetConnect: {
        devices: options.stormDevices,
        connected: storm.ready,
        allConnectedMs: round(storm.elapsedMs, 1),
        retries: storm.retries,
        perDevice: summarize(storm.connectMs),
      },
    };
  } finally {
    await fleet.stop();
    await edge.stop();
  }
}

/** The same memory reading for the control relay: `devices` idle sockets, each on its own object. */
async function controlFleet(ctx: BenchContext, devices: number): Promise<Results["edgeMemory"]["control"]> {
  ctx.say(`the control relay with ${devices} idle devices, for comparison…`);
  const edge = await startEdge("edge-control-fleet", {
    bundle: ctx.control,
    bindings: {},
    persistDir: join(ctx.tmp, "control-fleet-state"),
    pki: ctx.pki,
  });
  const client = await startChild("control-fleet", new URL("../tiny-device/client.ts", import.meta.url));
  try {
    const baseline = await settledRss(edge.workerdPid, 0, Math.min(5, ctx.options.settleMaxS));
    const connected = await client.call<number>(
      "idle",
      { url: `${edge.origin.replace("https:", "wss:")}/device`, ca: ctx.pki.caPem, count: devices, concurrency: 32 },
      CONNECT_TIMEOUT_MS[ctx.options.mode],
    );
    const idle = await settledRss(edge.workerdPid, HIBERNATE_S[ctx.options.mode], ctx.options.settleMaxS);
    return {
      devices,
      connected,
      baselineMiB: round(baseline.bytes / MiB, 1),
      idleMiB: round(idle.bytes / MiB, 1),
      perDeviceKiB: round((idle.bytes - baseline.bytes) / 1024 / devices, 1),
    };
  } finally {
    await client.stop();
    await edge.stop();
  }
}

/** One admin request, so the worker's isolate is loaded before anything is measured. */
function warm(edge: Edge, ctx: BenchContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${edge.origin}/admin/edge-key`,
      {
        ca: ctx.pki.caPem,
        agent: false,
        headers: { authorization: `Bearer ${ctx.secrets.ADMIN_SECRET}` },
        timeout: 15_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`${edge.name}: edge-key answered ${res.statusCode}`))));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${edge.name}: no answer in 15 s`)));
    req.on("error", reject);
  });
}
