/**
 * Keeps `npm run bench` from rotting: a quick run must finish, write well-formed results
 * and Markdown, and leave no process behind. It asserts nothing about speed, which a shared machine cannot promise.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../../bench/measure/procfs.ts";
import { RELAYS, Results } from "../../bench/results.ts";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";

describe("npm run bench -- --quick", () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("produces well-formed results for every row and stops everything it started", async () => {
    dir = await mkdtemp(join(tmpdir(), "impgate-bench-test-"));
    const out = join(dir, "results.json");
    const markdown = join(dir, "PERFORMANCE.md");
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", join(PROJECT_ROOT, "bench", "main.ts"), "--quick", "--out", out, "--markdown", markdown],
        {
          cwd: PROJECT_ROOT,
          timeout: 240_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);

    const results = Results.parse(JSON.parse(await readFile(out, "utf8")));
    expect(results.mode).toBe("quick");
    for (const relay of RELAYS) {
      for (const connections of [1, 16, 64]) {
        const row = results.roundTrip.rows.find((r) => r.relay === relay && r.connections === connections);
        expect(row, `${relay} at ${connections}`).toBeDefined();
        expect(row!.non2xx + row!.errors).toBe(0);
      }
    }
    // The sealed round trip beside a plain one, on the same imp: every request answered and opened.
    expect(results.sealed?.rows.map((r) => `${r.kind} ${r.connections}`).sort()).toEqual(["plain 1", "plain 4", "sealed 1", "sealed 4"]);
    for (const row of results.sealed?.rows ?? []) expect(row.non2xx + row.errors, `${row.kind} at ${row.connections}`).toBe(0);
    expect(results.edgeMemory.steps.every((s) => s.connected === s.devices)).toBe(true);
    expect(results.fleetConnect.connected).toBe(results.fleetConnect.devices);
    expect(results.presence?.rows.map((r) => r.presenceTimeoutS)).toEqual([45, 0]);
    expect(results.presence?.connected).toBe(results.presence?.devices);
    // The body rows: 64 KiB and 1 MiB both ways, through the control relay and impgate, none failed.
    const bodies = results.roundTrip.bodies ?? [];
    expect(bodies.map((b) => `${b.relay} ${b.bodyBytes}`).sort()).toEqual(
      ["control 65536", "control 1048576", "impgate 65536", "impgate 1048576"].sort(),
    );
    expect(bodies.every((b) => b.rps > 0 && b.non2xx + b.errors === 0)).toBe(true);
    expect(results.targets.map((t) => t.id)).toEqual([
      "throughput-1",
      "throughput-16",
      "throughput-64",
      "edge-cpu",
      "p99",
      "p99-top",
      "bodies",
      "bearer",
      "handshake",
      "fleet",
      "registry",
      "daemon",
      "daemon-private",
    ]);
    // Every imp of the registry is listed, a page at a time; every filter finds some.
    expect(results.registry.walks.find((w) => w.filter === "all")?.listed).toBe(results.registry.imps);
    expect(results.registry.walks.every((w) => w.listed > 0)).toBe(true);

    const doc = await readFile(markdown, "utf8");
    expect(doc).toContain("## Machine");
    expect(doc).toContain(results.roundTrip.callerAuth);
    expect(doc).toContain("Presence checks");
    expect(doc).toContain("Bodies both ways");

    expect(results.pids.length).toBeGreaterThanOrEqual(8);
    expect(results.pids.filter(isAlive)).toEqual([]);
  }, 300_000);
});
