/**
 * The load generator: autocannon on loopback, N keep-alive connections each with one
 * request in flight (N concurrent callers). Latency is taken from every 2xx response's own
 * timing (autocannon's histogram keeps whole milliseconds only, too coarse for loopback),
 * in steady state: not each connection's first response, which carries its TCP and TLS
 * setup, nor requests sent during the ramp while N connections handshake at once.
 */
import https from "node:https";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { cpuSeconds, rssBytes } from "./measure/procfs.ts";
import { percentile, round, sortedCopy } from "./measure/stats.ts";

/** The start of a window left out of the latencies: 10% of it, at most a second. */
const rampMs = (durationS: number) => Math.min(1000, durationS * 100);

export interface LoadOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  headers: Record<string, string>;
  ca: string;
  /**
   * Processes whose CPU time per request is reported: CPU time is far less disturbed by
   * other work on a shared machine than throughput is.
   */
  cpu: { edge: number; device: number };
  /** A request body (sent with POST) instead of GETs. */
  body?: Buffer;
}

export interface LoadResult {
  connections: number;
  durationS: number;
  /** 2xx responses in the measured window counted in the latencies (steady state). */
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU µs the edge (workerd, or the bare relay's Node) spent per answered request. */
  edgeCpuUs: number;
  /** CPU µs the device process spent per answered request. */
  deviceCpuUs: number;
  /** The edge's largest resident memory during the window, sampled every 100 ms. */
  edgePeakRssMiB: number;
}

function run(
  url: string,
  options: LoadOptions,
  durationS: number,
  onLatency?: (ms: number, steady: boolean) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: options.connections,
        duration: durationS,
        pipelining: 1,
        timeout: 10,
        headers: options.body ? { ...options.headers, "content-type": "application/octet-stream" } : options.headers,
        ...(options.body ? { method: "POST" as const, body: options.body } : {}),
        // autocannon does not verify certificates (it sets rejectUnauthorized: false);
        // checkOnce() below does, with only the dev CA trusted, before every measurement.
        tlsOptions: { ca: options.ca },
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onLatency) {
      const connected = new WeakSet<object>();
      const steadyFrom = performance.now() + rampMs(durationS);
      instance.on("response", (client: object, statusCode: number, _bytes: number, responseTime: number) => {
        const first = !connected.has(client);
        connected.add(client);
        if (statusCode < 200 || statusCode >= 300) return;
        onLatency(responseTime, !first && performance.now() - responseTime >= steadyFrom);
      });
    }
  });
}

export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  if (options.warmupS > 0) await run(url, options, options.warmupS);
  // Latencies of the steady state: each connection's first answer and the ramp left out. A slow
  // cell (a loaded machine, many callers, a short --quick window) may have none; then every
  // answer counts rather than none.
  const latencies: number[] = [];
  const everyLatency: number[] = [];
  const cpuBefore = { edge: cpuSeconds(options.cpu.edge), device: cpuSeconds(options.cpu.device) };
  let peakRss = rssBytes(options.cpu.edge) ?? 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(options.cpu.edge) ?? 0);
  }, 100);
  const result = await run(url, options, options.durationS, (ms, steady) => {
    everyLatency.push(ms);
    if (steady) latencies.push(ms);
  }).finally(() => clearInterval(sampler));
  const cpuAfter = { edge: cpuSeconds(options.cpu.edge), device: cpuSeconds(options.cpu.device) };
  const sorted = sortedCopy(latencies.length > 0 ? latencies : everyLatency);
  // Every response, 2xx or not, cost the edge its CPU.
  const answered = Math.max(1, result.requests.total);
  const perRequest = (before: number | null, after: number | null) =>
    before === null || after === null ? NaN : round(((after - before) * 1e6) / answered, 0);
  return {
    connections: options.connections,
    durationS: result.duration,
    requests: sorted.length,
    rps: round(result["2xx"] / result.duration, 1),
    p50Ms: round(percentile(sorted, 0.5)),
    p90Ms: round(percentile(sorted, 0.9)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : NaN),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    edgeCpuUs: perRequest(cpuBefore.edge, cpuAfter.edge),
    deviceCpuUs: perRequest(cpuBefore.device, cpuAfter.device),
    edgePeakRssMiB: round(peakRss / (1024 * 1024), 1),
  };
}

/** One request as a careful caller makes it (only the dev CA trusted): the route must answer 200 "ok". */
export function checkOnce(url: string, ca: string, headers: Record<string, string>, expectBody: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 200 && body === expectBody) resolve();
        else reject(new Error(`${new URL(url).origin} answered ${res.statusCode} ${body.slice(0, 200)}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${url} did not answer in 15 s`)));
    req.on("error", reject);
  });
}
