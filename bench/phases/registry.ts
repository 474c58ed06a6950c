/**
 * The fleet registry at scale: an edge whose registry holds `registryImps` imps (10,000 in a
 * full run), listed page by page through the admin API as `impgate imp list` and the console
 * do (100 a page, keyset cursors), unfiltered and filtered by tag, by online and tag, and by a
 * search; every page is timed from request to last byte, over one kept-alive connection,
 * three times (its time is the median).
 */
import https from "node:https";
import { join } from "node:path";
import type { FleetPage } from "../../protocol/fleet-api.ts";
import type { BenchContext } from "../context.ts";
import { startEdge } from "../edge/edges.ts";
import { round, summarize } from "../measure/stats.ts";
import type { Results } from "../results.ts";

const PAGE = 100;

const FILTERS: { filter: string; query: string }[] = [
  { filter: "all", query: "" },
  { filter: "tag batch-3", query: "tag=batch-3" },
  { filter: "online, tag prod", query: "online=true&tag=prod" },
  // 100 labels match at any size the bench runs (device-00100 to device-00199), so the search scans the whole label index.
  { filter: 'search "device-001"', query: "q=device-001" },
];

function get(agent: https.Agent, url: string, secret: string): Promise<{ ms: number; page: FleetPage }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, headers: { authorization: `Bearer ${secret}` }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200)
          return reject(new Error(`the registry answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
        resolve({ ms, page: JSON.parse(Buffer.concat(chunks).toString()) as FleetPage });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", reject);
  });
}

export async function registryPhase(ctx: BenchContext): Promise<Results["registry"]> {
  const count = ctx.options.registryImps;
  const edge = await startEdge("edge-registry", {
    bundle: ctx.impgate,
    bindings: { ...ctx.secrets },
    persistDir: join(ctx.tmp, "registry-state"),
    pki: ctx.pki,
  });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ctx.pki.caPem });
  try {
    ctx.say(`seeding the fleet registry with ${count.toLocaleString("en-US")} imps, then listing it page by page…`);
    await edge.seedRegistry(count);
    const list = (query: string, cursor?: string) =>
      get(
        agent,
        `${edge.origin}/admin/imps?limit=${PAGE}${query ? `&${query}` : ""}${cursor ? `&cursor=${cursor}` : ""}`,
        ctx.secrets.ADMIN_SECRET,
      );
    // The isolate and D1 warm, as on any edge that has served a request before.
    await list("");
    const walks: Results["registry"]["walks"] = [];
    for (const { filter, query } of FILTERS) {
      const times: number[] = [];
      let listed = 0;
      let cursor: string | undefined;
      do {
        // Each page three times, and its time the median: one slow try on a shared machine is
        // the scheduler's, not the page's.
        const tries = [await list(query, cursor), await list(query, cursor), await list(query, cursor)];
        const { page } = tries[0] as (typeof tries)[number];
        times.push(tries.map((t) => t.ms).sort((a, b) => a - b)[1] ?? 0);
        listed += page.imps.length;
        cursor = page.cursor ?? undefined;
      } while (cursor);
      const stats = summarize(times);
      walks.push({
        filter,
        pages: times.length,
        listed,
        p50Ms: round(stats.p50Ms, 1),
        p99Ms: round(stats.p99Ms, 1),
        maxMs: round(stats.maxMs, 1),
      });
    }
    return { imps: count, pageSize: PAGE, walks };
  } finally {
    agent.destroy();
    await edge.stop();
  }
}
