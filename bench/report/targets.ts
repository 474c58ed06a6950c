/** The targets, judged against a run. `met: null` means this run cannot judge it. */
import { CALLER_AUTH } from "../caller-auth.ts";
import type { Results, Target } from "../results.ts";

const x = (n: number) => `${n.toFixed(2)}×`;

export function judgeTargets(r: Omit<Results, "targets" | "pids">): Target[] {
  const top = Math.max(...r.roundTrip.ratios.map((q) => q.connections));
  const ratio = r.roundTrip.ratios.find((q) => q.connections === top)!;
  const withAuth = (value: string, met: boolean) =>
    CALLER_AUTH.implemented ? { value, met } : { value: `${value} (without caller auth: not judged)`, met: null };
  const last = r.edgeMemory.steps.at(-1)!;
  const full = r.mode === "full";
  const daemonMB = (r.daemon.idleRssMiB * 1024 * 1024) / 1e6;
  const at = (n: number) => r.roundTrip.ratios.find((q) => q.connections === n);
  const rows = (relay: string) => r.roundTrip.rows.filter((row) => row.relay === relay);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const cpuRatio = mean(rows("impgate").map((row) => row.edgeCpuUs)) / mean(rows("control").map((row) => row.edgeCpuUs));
  const mid = at(16) ?? ratio;
  const bodies = r.roundTrip.bodies ?? [];
  const mib = bodies.filter((b) => b.bodyBytes === 1024 * 1024);
  const bodyRow = (relay: string) => mib.find((b) => b.relay === relay);
  const [impBody, ctlBody] = [bodyRow("impgate"), bodyRow("control")];
  const daemonPrivateOver = r.daemon.anonMiB - r.daemon.nodeIdleAnonMiB;
  return [
    ...r.roundTrip.ratios.map((q) => ({
      id: `throughput-${q.connections}`,
      description: `impgate (${CALLER_AUTH.short}) vs the control relay, req/s at ${q.connections} caller${q.connections === 1 ? "" : "s"}`,
      target: "≥ 0.90×",
      ...withAuth(x(q.rpsVsControl), q.rpsVsControl >= 0.9),
    })),
    {
      id: "edge-cpu",
      description: "impgate's edge CPU per request vs the control relay's (mean over the concurrencies)",
      target: "≤ 1.10×",
      ...withAuth(x(cpuRatio), cpuRatio <= 1.1),
    },
    {
      id: "p99",
      description: `impgate vs the control relay, p99 at ${mid.connections} callers`,
      target: "≤ 1.30×",
      ...withAuth(x(mid.p99VsControl), mid.p99VsControl <= 1.3),
    },
    {
      id: "p99-top",
      description: `impgate vs the control relay, p99 at ${top} callers (reported, with what bounds it)`,
      target: "reported",
      value: x(ratio.p99VsControl),
      met: null,
    },
    {
      id: "bodies",
      description: "1 MiB request and reply through the edge (req/s and peak edge memory beside the control relay)",
      target: "through, beside the control",
      value:
        impBody && ctlBody
          ? `${impBody.rps.toFixed(1)} vs ${ctlBody.rps.toFixed(1)} req/s; peak ${impBody.edgePeakRssMiB} vs ${ctlBody.edgePeakRssMiB} MiB; ${impBody.non2xx + impBody.errors} failed`
          : "not measured",
      met: impBody ? impBody.non2xx + impBody.errors === 0 && impBody.rps > 0 : null,
    },
    {
      id: "bearer",
      description: "bearer-token verification per request",
      target: "≤ 100 µs",
      value: r.bearer.usPerRequest === null ? "not measured: caller auth is not in this build" : `${r.bearer.usPerRequest.toFixed(1)} µs`,
      met: r.bearer.usPerRequest === null ? null : r.bearer.usPerRequest <= 100,
    },
    {
      id: "handshake",
      description: "device connect (TLS + handshake), p50 on loopback",
      target: "≤ 20 ms",
      value: `${r.deviceConnect.p50Ms.toFixed(1)} ms`,
      met: r.deviceConnect.p50Ms <= 20,
    },
    {
      id: "fleet",
      description: "concurrently connected devices on one local runtime, memory written down",
      target: "≥ 5,000",
      value: `${last.connected.toLocaleString("en-US")} connected, ${last.perDeviceKiB} KiB each`,
      met: full ? last.connected >= 5000 : null,
    },
    {
      id: "registry",
      description: `a page of ${r.registry.pageSize} imps from a fleet registry of ${r.registry.imps.toLocaleString("en-US")}, unfiltered or filtered, slowest page`,
      target: "< 100 ms at 10,000",
      value: `${Math.max(...r.registry.walks.map((w) => w.maxMs)).toFixed(1)} ms over ${r.registry.walks.reduce((n, w) => n + w.pages, 0)} pages`,
      met: r.registry.imps >= 10_000 ? Math.max(...r.registry.walks.map((w) => w.maxMs)) < 100 : null,
    },
    {
      id: "daemon",
      description: "daemon resident memory when idle",
      target: "< 60 MiB",
      value: `${r.daemon.idleRssMiB} MiB (${daemonMB.toFixed(1)} MB)`,
      met: r.daemon.idleRssMiB < 60,
    },
    {
      id: "daemon-private",
      description: "daemon private memory when idle, above an idle Node's",
      target: "≤ 10 MiB",
      value: `${daemonPrivateOver.toFixed(1)} MiB (${r.daemon.anonMiB} vs ${r.daemon.nodeIdleAnonMiB})`,
      met: daemonPrivateOver <= 10,
    },
  ];
}
