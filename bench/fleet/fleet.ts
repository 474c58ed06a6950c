/** Device fleets for the orchestrator: real device links spread over a few bench children. */
import type { DevPki } from "../../dev/pki.ts";
import type { DeviceConfigInput } from "../../device/config.ts";
import { type BenchChild, startChild } from "../processes.ts";
import type { Provisioned, ProvisionedImp } from "../provision.ts";
import type { ConnectReport } from "./host.ts";

/** Links per Node process: one process holds thousands, but two use both cores for TLS. */
const LINKS_PER_HOST = 2500;

export type DeviceTemplate = Omit<DeviceConfigInput, "impId" | "deviceKey">;

export interface ConnectRequest {
  /** Where the devices connect and what they pin. */
  template: DeviceTemplate;
  imps: ProvisionedImp[];
  /** Connects in flight at once, per host. */
  concurrency: number;
  timeoutMs: number;
  /** Spread over the hosts (default), or all from the first, for strictly one-at-a-time timings. */
  spread?: boolean;
}

export interface Fleet {
  hosts: BenchChild[];
  connect(request: ConnectRequest): Promise<ConnectReport>;
  close(): Promise<void>;
  stop(): Promise<void>;
}

export function deviceTemplate(origin: string, provisioned: Provisioned, pki: DevPki, backupCaPem: string): DeviceTemplate {
  return {
    edgeUrl: origin,
    edgeKeys: provisioned.edgeKeys as DeviceConfigInput["edgeKeys"],
    // The same pinned trust `impgate imp create` writes: both CAs and both SPKI pins.
    tls: { ca: [pki.caPem, backupCaPem], pins: pki.pins },
  };
}

export async function startFleet(devices: number): Promise<Fleet> {
  const count = Math.max(1, Math.ceil(devices / LINKS_PER_HOST));
  const hosts = await Promise.all(Array.from({ length: count }, (_, i) => startChild(`fleet-${i}`, new URL("./host.ts", import.meta.url))));
  return {
    hosts,
    async connect({ template, imps, concurrency, timeoutMs, spread = true }) {
      const used = spread ? hosts.length : 1;
      const shares = hosts
        .slice(0, used)
        .map((_, i) => imps.filter((__, n) => n % used === i))
        .filter((s) => s.length > 0);
      const reports = await Promise.all(
        shares.map((share, i) =>
          hosts[i]!.call<ConnectReport>(
            "connect",
            {
              template,
              devices: share.map(({ impId, deviceKey }) => ({ impId, deviceKey })),
              concurrency,
              timeoutMs,
            },
            timeoutMs + 30_000,
          ),
        ),
      );
      return {
        connectMs: reports.flatMap((r) => r.connectMs),
        elapsedMs: Math.max(...reports.map((r) => r.elapsedMs)),
        retries: reports.reduce((n, r) => n + r.retries, 0),
        ready: reports.reduce((n, r) => n + r.ready, 0),
      };
    },
    async close() {
      await Promise.all(hosts.map((h) => h.call("close", undefined, 60_000)));
    },
    async stop() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  };
}
