/**
 * `npm run bench [-- --quick] [--out FILE] [--markdown FILE]`
 * `npm run bench -- --profile [--quick]`  (a CPU profile of impgate's edge under load)
 *
 * What an agent request costs, side by side with a control relay on the same runtime and a
 * bare Node relay, a sealed request beside a plain one, and how the edge grows with its fleet. Everything runs on this machine on
 * loopback: the real edge bundle on Miniflare (workerd) with local HTTPS, real device links
 * over pinned TLS, autocannon as the callers. Prints a table and writes JSON
 * (bench/results/latest.json) and Markdown (docs/PERFORMANCE.md; not in --quick).
 * Every process it starts is stopped, on success, on failure and on Ctrl-C.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../dev/edge-process.ts";
import { ensureDevPki } from "../dev/pki.ts";
import { makeEdgeSecrets } from "../dev/secrets.ts";
import { bundleWorker } from "./bundle.ts";
import { bearerVerificationCost } from "./caller-auth.ts";
import type { BenchContext } from "./context.ts";
import { startEdge } from "./edge/edges.ts";
import { jwtVerifyReference } from "./measure/jwt-reference.ts";
import { round } from "./measure/stats.ts";
import { FULL, QUICK } from "./options.ts";
import { daemonPhase } from "./phases/daemon.ts";
import { fleetPhase } from "./phases/fleet.ts";
import { presencePhase } from "./phases/presence.ts";
import { profilePhase } from "./phases/profile.ts";
import { registryPhase } from "./phases/registry.ts";
import { roundTripPhase } from "./phases/round-trip.ts";
import { sealedPhase } from "./phases/sealed.ts";
import { startedPids, stopAll, stopEverythingOnExit } from "./processes.ts";
import { describeMachine } from "./report/machine.ts";
import { performanceMarkdown } from "./report/markdown.ts";
import { presenceTable, registryTable, renderText, sealedTable, tables } from "./report/tables.ts";
import { judgeTargets } from "./report/targets.ts";
import { Results } from "./results.ts";

const USAGE = `usage: npm run bench [-- --quick] [--out results.json] [--markdown PERFORMANCE.md]
       npm run bench -- --only presence|sealed|registry [--quick]   (one phase, printed; nothing written)
       npm run bench -- --profile [--quick] [--out edge.cpuprofile]
       npm run bench -- --report results.json [--markdown PERFORMANCE.md]   (render a past run again)`;

const OPTIONS = {
  quick: { type: "boolean" },
  profile: { type: "boolean" },
  only: { type: "string" },
  report: { type: "string" },
  out: { type: "string" },
  markdown: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    args = parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.report) return report(resolve(args.report), args.markdown ? resolve(args.markdown) : null);
  if (args.only !== undefined && args.only !== "presence" && args.only !== "sealed" && args.only !== "registry") {
    console.error(`bench: --only takes "presence", "sealed" or "registry"\n${USAGE}`);
    return 2;
  }
  const options = args.quick ? QUICK : FULL;
  const defaultOut = args.profile ? "impgate-edge.cpuprofile" : args.quick ? "quick.json" : "latest.json";
  const out = resolve(args.out ?? join(PROJECT_ROOT, "bench", "results", defaultOut));
  // A quick run never overwrites the committed docs unless asked to.
  const markdown = args.markdown
    ? resolve(args.markdown)
    : args.quick || args.profile
      ? null
      : join(PROJECT_ROOT, "docs", "PERFORMANCE.md");

  const started = Date.now();
  const loadBefore = os.loadavg();
  const tmp = await mkdtemp(join(os.tmpdir(), "impgate-bench-"));
  const removeTmp = () => rm(tmp, { recursive: true, force: true });
  stopEverythingOnExit(removeTmp);
  const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

  try {
    say(`${options.mode} run; bundling the edge and the control relay with wrangler…`);
    const [impgate, control, pki, secrets] = await Promise.all([
      bundleWorker(join(PROJECT_ROOT, "wrangler.toml"), join(tmp, "impgate-bundle")),
      bundleWorker(join(PROJECT_ROOT, "bench", "control", "wrangler.toml"), join(tmp, "control-bundle")),
      ensureDevPki(join(tmp, "pki")),
      makeEdgeSecrets(),
    ]);
    const ctx: BenchContext = { options, tmp, pki, backupCaPem: await readFile(pki.backupCaFile, "utf8"), secrets, impgate, control, say };
    if (args.only === "presence") {
      console.log(renderText(presenceTable(await presencePhase(ctx))));
      return 0;
    }
    if (args.only === "registry") {
      console.log(renderText(registryTable(await registryPhase(ctx))));
      return 0;
    }
    await mkdir(dirname(out), { recursive: true });
    if (args.profile) {
      console.log(await profilePhase(ctx, out));
      return 0;
    }

    const edge = await startEdge("edge-impgate", {
      bundle: impgate,
      bindings: { ...secrets },
      persistDir: join(tmp, "impgate-state"),
      pki,
    });
    if (args.only === "sealed") {
      const sealedOnly = await sealedPhase(ctx, edge);
      await edge.stop();
      console.log(renderText(sealedTable(sealedOnly)));
      return 0;
    }
    const { result: roundTrip, provisioned } = await roundTripPhase(ctx, edge);
    const sealed = await sealedPhase(ctx, edge);
    const daemon = await daemonPhase(ctx, edge, provisioned);
    await edge.stop();

    say("timing token verification…");
    const bearerCost = await bearerVerificationCost(options.jwtBudgetMs);
    const bearer = {
      usPerRequest: bearerCost ? round(bearerCost.usPerRequest, 1) : null,
      method: bearerCost?.method ?? "caller auth is not in this build",
      reference: await jwtVerifyReference(options.jwtBudgetMs),
    };

    const fleet = await fleetPhase(ctx);
    const registry = await registryPhase(ctx);
    const presence = await presencePhase(ctx);

    const partial = {
      version: 1 as const,
      mode: options.mode,
      startedAt: new Date(started).toISOString(),
      durationS: round((Date.now() - started) / 1000, 1),
      machine: describeMachine(loadBefore),
      roundTrip,
      sealed,
      bearer,
      daemon,
      ...fleet,
      registry,
      presence,
    };
    const results = Results.parse({ ...partial, targets: judgeTargets(partial), pids: startedPids() });

    await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
    if (markdown) {
      await mkdir(dirname(markdown), { recursive: true });
      await writeFile(markdown, performanceMarkdown(results));
    }
    console.log(tables(results).map(renderText).join("\n\n"));
    say(`results: ${out}${markdown ? `, ${markdown}` : ""} (${results.durationS} s)`);
    return 0;
  } catch (err) {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await stopAll();
    await removeTmp();
  }
}

/** Renders a past run's JSON again (after the report's wording changed), without measuring anything. */
async function report(file: string, markdown: string | null): Promise<number> {
  let results: Results;
  try {
    results = Results.parse(JSON.parse(await readFile(file, "utf8")));
  } catch (err) {
    console.error(`bench: ${file} is not a results file: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    return 2;
  }
  if (markdown) await writeFile(markdown, performanceMarkdown(results));
  console.log(tables(results).map(renderText).join("\n\n"));
  return 0;
}

process.exitCode = await main();
