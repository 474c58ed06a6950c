/**
 * The run's numbers as tables, once: printed aligned on the terminal and written as
 * Markdown into docs/PERFORMANCE.md.
 */
import type { BodyRow, PresenceCost, Results } from "../results.ts";

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric?: number[];
}

const f = (n: number, digits = 2) => n.toFixed(digits);
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const verdict = (met: boolean | null) => (met === null ? "not judged" : met ? "met" : "missed");

export function tables(r: Results): Table[] {
  const rt = r.roundTrip;
  return [
    {
      title: `Agent round trip (caller → edge → device → caller), ${rt.durationS} s per cell after ${rt.warmupS} s warm-up`,
      head: ["relay", "callers", "req/s", "p50 ms", "p90 ms", "p99 ms", "edge CPU µs/req", "device CPU µs/req", "non-2xx", "errors"],
      rows: rt.rows.map((row) => [
        row.label,
        String(row.connections),
        int(row.rps),
        f(row.p50Ms),
        f(row.p90Ms),
        f(row.p99Ms),
        int(row.edgeCpuUs),
        int(row.deviceCpuUs),
        String(row.non2xx),
        String(row.errors + row.timeouts),
      ]),
      numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    },
    {
      title: `${rt.rows.find((row) => row.relay === "impgate")!.label} relative to the others (req/s: higher is better; p99: lower is better)`,
      head: ["callers", "req/s ÷ control", "req/s ÷ bare", "p99 ÷ control", "p99 ÷ bare", "edge CPU/req ÷ control"],
      rows: rt.ratios.map((q) => [
        String(q.connections),
        `${f(q.rpsVsControl)}×`,
        `${f(q.rpsVsBare)}×`,
        `${f(q.p99VsControl)}×`,
        `${f(q.p99VsBare)}×`,
        `${f(q.edgeCpuVsControl)}×`,
      ]),
      numeric: [0, 1, 2, 3, 4, 5],
    },
    ...(r.sealed ? [sealedTable(r.sealed)] : []),
    {
      title: "Devices",
      head: ["measurement", "value"],
      rows: [
        [
          "connect time, one at a time (TLS + handshake)",
          `p50 ${f(r.deviceConnect.p50Ms, 1)} ms, p99 ${f(r.deviceConnect.p99Ms, 1)} ms (${r.deviceConnect.samples} connects)`,
        ],
        [
          `${int(r.fleetConnect.devices)} devices connecting at once to a fresh edge`,
          `${int(r.fleetConnect.connected)} connected in ${f(r.fleetConnect.allConnectedMs / 1000, 1)} s; per device p50 ${f(r.fleetConnect.perDevice.p50Ms / 1000, 1)} s, p99 ${f(r.fleetConnect.perDevice.p99Ms / 1000, 1)} s; ${int(r.fleetConnect.retries)} retries`,
        ],
        [
          "daemon (impgate-device) resident memory, idle",
          `${f(r.daemon.idleRssMiB, 1)} MiB: ${f(r.daemon.anonMiB, 1)} private + ${f(r.daemon.fileMiB, 1)} file-backed (peak ${f(r.daemon.peakRssMiB, 1)} MiB)`,
        ],
        [
          "the same Node running nothing, for comparison",
          `${f(r.daemon.nodeIdleRssMiB, 1)} MiB (${f(r.daemon.nodeIdleAnonMiB, 1)} private)`,
        ],
        [
          "bearer verification per request",
          r.bearer.usPerRequest === null ? `not measured (${r.bearer.method})` : `${f(r.bearer.usPerRequest, 1)} µs (${r.bearer.method})`,
        ],
        [
          "reference: jose jwtVerify in Node (not impgate's path)",
          r.bearer.reference.map((j) => `${j.alg} ${f(j.usPerVerify, 1)} µs`).join(", "),
        ],
      ],
    },
    {
      title: `Edge memory (workerd RSS) with idle connected devices; ${f(r.edgeMemory.baselineMiB, 1)} MiB with none`,
      head: ["edge", "devices", "connected", "RSS just after connect MiB", "RSS idle MiB", "settled after s", "per device KiB"],
      rows: [
        ...r.edgeMemory.steps.map((s) => [
          "impgate",
          int(s.devices),
          int(s.connected),
          f(s.activeMiB, 1),
          f(s.idleMiB, 1),
          f(s.settledAfterS, 1),
          f(s.perDeviceKiB, 1),
        ]),
        ((c) => [
          "control relay",
          int(c.devices),
          int(c.connected),
          "",
          `${f(c.idleMiB, 1)} (${f(c.baselineMiB, 1)} with none)`,
          "",
          f(c.perDeviceKiB, 1),
        ])(r.edgeMemory.control),
      ],
      numeric: [1, 2, 3, 4, 5, 6],
    },
    ...(rt.bodies ? [bodyTable(rt.bodies)] : []),
    ...(r.presence ? [presenceTable(r.presence)] : []),
    registryTable(r.registry),
    {
      title: "Targets (issues 6, 14 and 16)",
      head: ["target", "wanted", "this run", "status"],
      rows: r.targets.map((t) => [t.description, t.target, t.value, verdict(t.met)]),
    },
  ];
}

/** The body rows: the same bytes both ways on every request, the control relay beside impgate. */
export function bodyTable(rows: BodyRow[]): Table {
  const callers = rows[0]?.connections ?? 0;
  return {
    title: `Bodies both ways (each request's body echoed by the device), ${callers} callers; edge memory is workerd's RSS just before and at its peak during the window`,
    head: ["relay", "body", "req/s", "p99 ms", "edge CPU µs/req", "edge RSS before MiB", "edge RSS peak MiB", "failed"],
    rows: rows.map((b) => [
      b.label,
      b.bodyBytes >= 1024 * 1024 ? `${b.bodyBytes / (1024 * 1024)} MiB` : `${b.bodyBytes / 1024} KiB`,
      f(b.rps, 1),
      f(b.p99Ms),
      int(b.edgeCpuUs),
      f(b.edgeRssBeforeMiB, 1),
      f(b.edgePeakRssMiB, 1),
      String(b.non2xx + b.errors),
    ]),
    numeric: [2, 3, 4, 5, 6, 7],
  };
}

/** Presence checks on and off for the same idle fleet, and what they cost per device. */
/** The sealed round trip beside a plain one (bench/phases/sealed.ts): in the full report, and alone with `--only sealed`. */
export function sealedTable(s: NonNullable<Results["sealed"]>): Table {
  return {
    title: `Sealed (end-to-end) round trip beside a plain one, same imp, edge and daemon, ${s.durationS} s per cell after ${s.warmupS} s warm-up`,
    head: [
      "request",
      "callers",
      "req/s",
      "p50 ms",
      "p99 ms",
      "caller CPU µs/req",
      "edge CPU µs/req",
      "device CPU µs/req",
      "refused",
      "errors",
    ],
    rows: s.rows.map((row) => [
      row.kind === "sealed" ? "sealed (POST _sealed)" : "plain (GET /bench)",
      String(row.connections),
      int(row.rps),
      f(row.p50Ms),
      f(row.p99Ms),
      int(row.callerCpuUs),
      int(row.edgeCpuUs),
      int(row.deviceCpuUs),
      String(row.non2xx),
      String(row.errors),
    ]),
    numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9],
  };
}

export function presenceTable(p: PresenceCost): Table {
  return {
    title: `Presence checks: ${int(p.connected)} idle connected devices (heartbeat every ${p.heartbeatS} s), ${p.windowS} s per row; on − off per device per hour: ${f(p.perDeviceHour.wakeups, 1)} wake-ups, ${f(p.perDeviceHour.cpuMs, 2)} ms of edge CPU`,
    head: ["imps' presence timeout", "object wake-ups/min", "of which alarms/min", "edge CPU s/min"],
    rows: p.rows.map((row) => [row.label, f(row.wakeupsPerMin, 1), f(row.alarmsPerMin, 1), f(row.edgeCpuSPerMin, 3)]),
    numeric: [1, 2, 3],
  };
}

/** The fleet registry listed page by page, whole and filtered (each page's time: the median of three tries). */
export function registryTable(r: Results["registry"]): Table {
  return {
    title: `Fleet registry: ${int(r.imps)} imps listed through the admin API, ${r.pageSize} a page (keyset cursors)`,
    head: ["filter", "pages", "imps listed", "p50 ms", "p99 ms", "slowest page ms"],
    rows: r.walks.map((w) => [w.filter, int(w.pages), int(w.listed), f(w.p50Ms, 1), f(w.p99Ms, 1), f(w.maxMs, 1)]),
    numeric: [1, 2, 3, 4, 5],
  };
}

export function renderText(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (t.numeric?.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [t.title, line(t.head), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

export function renderMarkdown(t: Table): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  const align = t.head.map((_, i) => (t.numeric?.includes(i) ? "---:" : "---"));
  return [
    `**${t.title}**`,
    "",
    `| ${t.head.map(esc).join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...t.rows.map((row) => `| ${row.map(esc).join(" | ")} |`),
  ].join("\n");
}
