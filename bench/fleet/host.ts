/**
 * Bench child: real device links (the daemon's library, device/link.ts `connect`) over
 * pinned TLS, many per process. Each link checks the edge's key and proves its own, as
 * `impgate-device` does, and answers requests with the benchmark's fixed reply.
 */
import { performance } from "node:perf_hooks";
import { type DeviceConfigInput, parseConfig } from "../../device/config.ts";
import { connect, type DeviceLink } from "../../device/link.ts";
import { serve } from "../ipc.ts";
import { rssBytes } from "../measure/procfs.ts";
import { BENCH_REPLY } from "../reply.ts";

export interface FleetDevice {
  impId: string;
  deviceKey: DeviceConfigInput["deviceKey"];
}

export interface ConnectArgs {
  /** Everything but the imp: edge URL, pinned edge keys, pinned TLS. */
  template: Omit<DeviceConfigInput, "impId" | "deviceKey">;
  devices: FleetDevice[];
  /** How many connects may be in flight at once (1: one after another). */
  concurrency: number;
  timeoutMs: number;
}

export interface ConnectReport {
  /** Per device, ms from `connect()` to the link being ready (TLS + both handshake proofs). */
  connectMs: number[];
  /** ms from the first `connect()` to the last link ready. */
  elapsedMs: number;
  /** Attempts that ended before the link was ready (the daemon retried them with backoff). */
  retries: number;
  ready: number;
}

const links: DeviceLink[] = [];
// `/echo` answers with the request's body (the body rows: the same bytes both ways); anything else, the fixed reply.
const handlers = {
  request: (req: { path: string; body: Uint8Array }) => (req.path === "/echo" ? { status: 200, body: req.body } : BENCH_REPLY),
};

async function connectAll(args: ConnectArgs): Promise<ConnectReport> {
  const connectMs: number[] = [];
  let retries = 0;
  let next = 0;
  const started = performance.now();
  const deadline = Date.now() + args.timeoutMs;

  const one = (device: FleetDevice) =>
    new Promise<void>((resolve) => {
      const config = parseConfig({ ...args.template, ...device });
      const t0 = performance.now();
      const link = connect(config, handlers);
      links.push(link);
      const onDisconnect = () => retries++;
      link.on("disconnect", onDisconnect);
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      link.once("ready", () => {
        connectMs.push(performance.now() - t0);
        link.off("disconnect", onDisconnect);
        clearTimeout(timer);
        resolve();
      });
    });

  const worker = async () => {
    while (next < args.devices.length && Date.now() < deadline) await one(args.devices[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.devices.length) }, worker));
  return { connectMs, elapsedMs: performance.now() - started, retries, ready: connectMs.length };
}

async function closeAll(): Promise<void> {
  await Promise.all(links.splice(0).map((l) => l.close()));
}

serve(
  {
    connect: connectAll,
    close: closeAll,
    rss: () => rssBytes(process.pid),
  },
  closeAll,
);
