/**
 * The agent round trip (caller → edge → device → caller), side by side: the control relay
 * on the same runtime, the bare Node relay, and impgate, at each concurrency, in a rotating
 * order so that drift on a shared machine does not always favour the same row.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { authorizationHeader, CALLER_AUTH } from "../caller-auth.ts";
import type { BenchContext } from "../context.ts";
import type { Edge } from "../edge/edges.ts";
import { startEdge } from "../edge/edges.ts";
import { deviceTemplate, startFleet } from "../fleet/fleet.ts";
import { checkOnce, load } from "../load.ts";
import { round } from "../measure/stats.ts";
import { startChild } from "../processes.ts";
import { type AdminAccess, type Provisioned, provisionImps } from "../provision.ts";
import { BENCH_REPLY } from "../reply.ts";
import type { LoadRow, Relay, Results } from "../results.ts";
import { bodyRows } from "./bodies.ts";

export const LABELS: Record<Relay, string> = {
  control: "control relay (worker → DO → websocket)",
  bare: "bare Node HTTPS+ws relay",
  impgate: CALLER_AUTH.label,
};

interface Target {
  relay: Relay;
  url: string;
  /** Fetched before every measurement, so a short-lived token never expires mid-run. */
  headers: () => Promise<Record<string, string>>;
  cpu: { edge: number; device: number };
}

const none = async () => ({});

export interface RoundTripOutcome {
  result: Results["roundTrip"];
  /** impgate's benchmark imp, for the daemon's memory reading afterwards. */
  provisioned: Provisioned;
}

export async function roundTripPhase(ctx: BenchContext, edge: Edge): Promise<RoundTripOutcome> {
  const { options, pki } = ctx;
  const admin: AdminAccess = { origin: edge.origin, adminSecret: ctx.secrets.ADMIN_SECRET, ca: pki.caPem };

  ctx.say("starting the control relay, the bare relay and their devices…");
  const [control, bare] = await Promise.all([
    startEdge("edge-control", { bundle: ctx.control, bindings: {}, persistDir: join(ctx.tmp, "control-state"), pki }),
    startChild("bare-relay", new URL("../bare-relay/server.ts", import.meta.url)),
  ]);
  const bareOrigin = (
    await bare.call<{ origin: string }>("start", {
      key: await readFile(pki.keyFile, "utf8"),
      cert: await readFile(pki.certFile, "utf8"),
    })
  ).origin;
  const [controlDevice, bareDevice] = await Promise.all([
    startChild("control-device", new URL("../tiny-device/client.ts", import.meta.url)),
    startChild("bare-device", new URL("../tiny-device/client.ts", import.meta.url)),
  ]);
  await controlDevice.call("start", { url: `${control.origin.replace("https:", "wss:")}/device`, ca: pki.caPem });
  await bareDevice.call("start", { url: `${bareOrigin.replace("https:", "wss:")}/device`, ca: pki.caPem });

  ctx.say("provisioning impgate's benchmark imp and connecting its device (pinned TLS, key handshake)…");
  const provisioned = await provisionImps(admin, 1);
  const imp = provisioned.imps[0]!;
  const fleet = await startFleet(1);
  const connected = await fleet.connect({
    template: deviceTemplate(edge.origin, provisioned, pki, ctx.backupCaPem),
    imps: [imp],
    concurrency: 1,
    timeoutMs: 30_000,
  });
  if (connected.ready !== 1) throw new Error("impgate's benchmark device did not connect");

  try {
    const targets: Target[] = [
      { relay: "control", url: `${control.origin}/bench`, headers: none, cpu: { edge: control.workerdPid, device: controlDevice.pid } },
      { relay: "bare", url: `${bareOrigin}/bench`, headers: none, cpu: { edge: bare.pid, device: bareDevice.pid } },
      {
        relay: "impgate",
        url: `${imp.agentUrl}/bench`,
        headers: () => authorizationHeader(imp.agentUrl, { impId: imp.impId, admin }),
        cpu: { edge: edge.workerdPid, device: fleet.hosts[0]!.pid },
      },
    ];
    for (const t of targets) await checkOnce(t.url, pki.caPem, await t.headers(), BENCH_REPLY.body);

    const rows: LoadRow[] = [];
    for (const [i, connections] of options.concurrency.entries()) {
      const order = targets.map((_, k) => targets[(k + i) % targets.length]!);
      for (const t of order) {
        ctx.say(`  ${LABELS[t.relay]}: ${connections} caller${connections === 1 ? "" : "s"}, ${options.durationS} s…`);
        const r = await load(t.url, {
          connections,
          durationS: options.durationS,
          warmupS: options.warmupS,
          headers: await t.headers(),
          ca: pki.caPem,
          cpu: t.cpu,
        });
        if (r.requests === 0) throw new Error(`${LABELS[t.relay]} answered no request with 2xx (${r.non2xx} non-2xx, ${r.errors} errors)`);
        rows.push({ relay: t.relay, label: LABELS[t.relay], ...r });
      }
    }
    // The body rows, on the same edges and devices: the control relay and impgate only (the bare relay has no limits to compare).
    const bodies = await bodyRows(
      targets
        .filter((t) => t.relay !== "bare")
        .map((t) => ({ relay: t.relay, label: LABELS[t.relay], base: t.url.slice(0, -"/bench".length), headers: t.headers, cpu: t.cpu })),
      { durationS: options.durationS, warmupS: options.warmupS, ca: pki.caPem },
      ctx.say,
    );
    return {
      result: {
        durationS: options.durationS,
        warmupS: options.warmupS,
        callerAuth: CALLER_AUTH.description,
        rows,
        ratios: ratios(rows, options.concurrency),
        bodies,
      },
      provisioned,
    };
  } finally {
    await Promise.all([fleet.stop(), control.stop(), bare.stop(), controlDevice.stop(), bareDevice.stop()]);
  }
}

function ratios(rows: LoadRow[], concurrency: number[]): Results["roundTrip"]["ratios"] {
  return concurrency.map((connections) => {
    const at = (relay: Relay) => rows.find((r) => r.relay === relay && r.connections === connections)!;
    const [imp, control, bare] = [at("impgate"), at("control"), at("bare")];
    return {
      connections,
      rpsVsControl: round(imp.rps / control.rps),
      rpsVsBare: round(imp.rps / bare.rps),
      p99VsControl: round(imp.p99Ms / control.p99Ms),
      p99VsBare: round(imp.p99Ms / bare.p99Ms),
      edgeCpuVsControl: round(imp.edgeCpuUs / control.edgeCpuUs),
    };
  });
}
