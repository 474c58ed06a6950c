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
  return [
    {
      id: "throughput",
      description: `impgate with full authentication vs the control relay, req/s at ${top} callers`,
      target: "≥ 0.90×",
      ...withAuth(x(ratio.rpsVsControl), ratio.rpsVsControl >= 0.9),
    },
    {
      id: "p99",
      description: `impgate with full authentication vs the control relay, p99 at ${top} callers`,
      target: "≤ 1.20×",
      ...withAuth(x(ratio.p99VsControl), ratio.p99VsControl <= 1.2),
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
      target: "< 60 MB",
      value: `${daemonMB.toFixed(1)} MB (${r.daemon.idleRssMiB} MiB)`,
      met: daemonMB < 60,
    },
  ];
}
