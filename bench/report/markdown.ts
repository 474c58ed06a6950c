/** docs/PERFORMANCE.md, written by a full run: the machine, the tables, and where each target stands. */
import type { Results } from "../results.ts";
import { analysis } from "./analysis.ts";
import { renderMarkdown, tables } from "./tables.ts";

export function performanceMarkdown(r: Results): string {
  const m = r.machine;
  return `# impgate performance

Written by \`npm run bench\` (bench/main.ts) on ${r.startedAt.slice(0, 10)}; re-run it to refresh this file.
The raw numbers are in \`bench/results/latest.json\` after a run.

## How it was measured

- **Edge**: the deployable bundle (\`wrangler deploy --dry-run\`) on standalone Miniflare ${m.miniflare}
  (workerd ${m.workerd}) with local HTTPS from the dev PKI and Durable Objects on SQLite, not
  \`wrangler dev\`, whose proxy caps throughput at a few hundred requests per second.
- **Devices**: the daemon's own library (\`device/link.ts\` \`connect\`) over pinned TLS with the key
  handshake, in separate processes; the idle memory is the real \`impgate-device\` process.
- **Callers**: autocannon ${m.autocannon} on loopback, one request in flight per connection.
- **Rows**: (1) the control relay, bench/control/: a worker that hands the request to one Durable
  Object that forwards it over a hibernatable websocket, no checks; (2) a bare Node HTTPS + ws
  relay, bench/bare-relay/; (3) impgate: HTTPS only, agent-id MAC check, Durable Object RPC,
  validated protocol frames, device pinned TLS and key handshake. Every device gives the same
  reply. Caller authentication: **${r.roundTrip.callerAuth}**.

## Machine

| | |
| --- | --- |
| CPU | ${m.cpuModel}, ${m.cores} cores |
| memory | ${m.memoryGiB} GiB |
| OS | ${m.os} |
| Node | ${m.node} |
| workerd / Miniflare | ${m.workerd} / ${m.miniflare} |
| load average before / after | ${m.loadAverageBefore.join(", ")} / ${m.loadAverageAfter.join(", ")} |
| open files (soft / hard) | ${m.openFiles.soft ?? "unlimited"} / ${m.openFiles.hard ?? "unlimited"} |
| run | ${r.mode}, ${r.durationS} s |

**Two cores for everything**: the load generator, the edge and the devices all run on the same
two cores (and whatever else the machine was doing: see the load average, ~1 means the run had the
machine to itself), so absolute numbers say more about this machine than about impgate. The
side-by-side ratios, and CPU per request, are the meaningful part.

## Results

${tables(r).map(renderMarkdown).join("\n\n")}

## Where each target stands

${analysis(r)}
`;
}
