/**
 * The body rows: each caller POSTs a body of 64 KiB or 1 MiB and the device answers with the
 * same bytes, so each request carries the size both ways. The control relay and impgate side
 * by side, with req/s, edge CPU per request and the edge's peak resident memory during the
 * window (sampled every 100 ms) beside its memory just before.
 */
import type { LoadOptions } from "../load.ts";
import { load } from "../load.ts";
import { rssBytes } from "../measure/procfs.ts";
import { round } from "../measure/stats.ts";
import type { BodyRow, Relay } from "../results.ts";

export const BODY_SIZES = [64 * 1024, 1024 * 1024];
/** Few callers: a 1 MiB body each way per request is already most of what loopback TLS carries here. */
export const BODY_CALLERS = 4;

export interface BodyTarget {
  relay: Relay;
  label: string;
  /** The agent URL (or relay origin) without a path: `/echo` is appended. */
  base: string;
  headers: () => Promise<Record<string, string>>;
  cpu: LoadOptions["cpu"];
}

export async function bodyRows(
  targets: BodyTarget[],
  options: { durationS: number; warmupS: number; ca: string },
  say: (line: string) => void,
): Promise<BodyRow[]> {
  const rows: BodyRow[] = [];
  for (const bytes of BODY_SIZES) {
    const body = Buffer.alloc(bytes, 0x5a);
    for (const t of targets) {
      say(`  ${t.label}: ${bytes / 1024} KiB bodies both ways, ${BODY_CALLERS} callers, ${options.durationS} s…`);
      const rssBefore = (rssBytes(t.cpu.edge) ?? 0) / (1024 * 1024);
      const r = await load(`${t.base}/echo`, { ...options, connections: BODY_CALLERS, headers: await t.headers(), cpu: t.cpu, body });
      rows.push({
        relay: t.relay,
        label: t.label,
        bodyBytes: bytes,
        connections: BODY_CALLERS,
        rps: r.rps,
        p99Ms: r.p99Ms,
        edgeCpuUs: r.edgeCpuUs,
        edgeRssBeforeMiB: round(rssBefore, 1),
        edgePeakRssMiB: r.edgePeakRssMiB,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
      });
    }
  }
  return rows;
}
