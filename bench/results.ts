/**
 * The shape of bench/results/latest.json, defined once: the orchestrator builds it, the
 * reports render it, and the smoke test checks a quick run against it.
 */
import { z } from "zod";

const ms = z.number().nonnegative();
const finite = z.number().refine(Number.isFinite, "must be a finite number");

export const RELAYS = ["control", "bare", "impgate"] as const;
export type Relay = (typeof RELAYS)[number];

const LoadRow = z.object({
  relay: z.enum(RELAYS),
  label: z.string(),
  connections: z.number().int().positive(),
  durationS: z.number().positive(),
  requests: z.number().int().positive(),
  rps: z.number().positive(),
  p50Ms: ms,
  p90Ms: ms,
  p99Ms: ms,
  maxMs: ms,
  non2xx: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  timeouts: z.number().int().nonnegative(),
  edgeCpuUs: ms,
  deviceCpuUs: ms,
});
export type LoadRow = z.infer<typeof LoadRow>;

/** A body row (bench/phases/bodies.ts): the same size of body both ways on every request. */
const BodyRow = z.object({
  relay: z.enum(RELAYS),
  label: z.string(),
  bodyBytes: z.number().int().positive(),
  connections: z.number().int().positive(),
  rps: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  edgeCpuUs: z.number().nonnegative(),
  edgeRssBeforeMiB: z.number().nonnegative(),
  edgePeakRssMiB: z.number().nonnegative(),
  non2xx: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
});
export type BodyRow = z.infer<typeof BodyRow>;

const Ratio = z.object({
  connections: z.number().int().positive(),
  /** impgate req/s ÷ the other's (1 = as fast). */
  rpsVsControl: finite,
  rpsVsBare: finite,
  /** impgate p99 ÷ the other's (1 = as fast). */
  p99VsControl: finite,
  p99VsBare: finite,
  /** impgate's edge CPU per request ÷ the control's: its own cost, least disturbed by a busy machine. */
  edgeCpuVsControl: finite,
});

const ConnectStats = z.object({ samples: z.number().int().positive(), p50Ms: ms, p99Ms: ms, meanMs: ms, maxMs: ms });

const MemoryStep = z.object({
  devices: z.number().int().positive(),
  connected: z.number().int().nonnegative(),
  /** workerd RSS right after the last device became ready. */
  activeMiB: ms,
  /** workerd RSS once it stopped changing (idle devices, objects free to hibernate). */
  idleMiB: ms,
  settledAfterS: ms,
  /** (idle RSS − RSS with no device) ÷ devices. */
  perDeviceKiB: finite,
});

const PresenceRow = z.object({
  label: z.string(),
  /** The imps' presence timeout; 0: checks off. */
  presenceTimeoutS: z.number().int().nonnegative(),
  /** Invocations of the imps' objects (alarms, socket events, requests), per minute, for the whole fleet. */
  wakeupsPerMin: ms,
  alarmsPerMin: ms,
  /** CPU seconds the edge's workerd process used per minute. */
  edgeCpuSPerMin: ms,
});

/** What presence checks cost: the same idle fleet with them on and off. */
const PresenceCost = z.object({
  devices: z.number().int().positive(),
  connected: z.number().int().nonnegative(),
  /** The devices' heartbeat interval. */
  heartbeatS: z.number().positive(),
  windowS: z.number().positive(),
  rows: z.array(PresenceRow).length(2),
  /** (on − off) per device per hour. */
  perDeviceHour: z.object({ wakeups: finite, cpuMs: finite }),
});
export type PresenceCost = z.infer<typeof PresenceCost>;

const Target = z.object({
  id: z.string(),
  description: z.string(),
  target: z.string(),
  value: z.string(),
  /** null: cannot be judged in this run (e.g. not implemented yet). */
  met: z.boolean().nullable(),
});
export type Target = z.infer<typeof Target>;

export const Results = z.object({
  version: z.literal(1),
  mode: z.enum(["full", "quick"]),
  startedAt: z.string(),
  durationS: z.number().positive(),
  machine: z.object({
    cpuModel: z.string(),
    cores: z.number().int().positive(),
    memoryGiB: z.number().positive(),
    os: z.string(),
    node: z.string(),
    workerd: z.string(),
    miniflare: z.string(),
    autocannon: z.string(),
    loadAverageBefore: z.array(z.number()),
    loadAverageAfter: z.array(z.number()),
    openFiles: z.object({ soft: z.number().nullable(), hard: z.number().nullable() }),
  }),
  roundTrip: z.object({
    durationS: z.number().positive(),
    warmupS: z.number().nonnegative(),
    /** What impgate's caller presented, in words. */
    callerAuth: z.string(),
    rows: z.array(LoadRow).min(3),
    ratios: z.array(Ratio).min(1),
    /** Absent from runs made before the body rows existed. */
    bodies: z.array(BodyRow).optional(),
  }),
  /** A sealed round trip beside a plain one on the same imp (bench/phases/sealed.ts); absent in older runs. */
  sealed: z
    .object({
      durationS: z.number().positive(),
      warmupS: z.number().nonnegative(),
      rows: z.array(
        z.object({
          kind: z.enum(["plain", "sealed"]),
          connections: z.number().int().positive(),
          requests: z.number().int().positive(),
          durationS: z.number().positive(),
          rps: z.number().positive(),
          p50Ms: ms,
          p99Ms: ms,
          non2xx: z.number().int().nonnegative(),
          errors: z.number().int().nonnegative(),
          /** CPU µs per request: the callers (sealing, opening), the edge, the device (opening, replay memory, sealing). */
          callerCpuUs: ms,
          edgeCpuUs: ms,
          deviceCpuUs: ms,
        }),
      ),
    })
    .optional(),
  bearer: z.object({
    usPerRequest: z.number().positive().nullable(),
    method: z.string(),
    /** jose jwtVerify in this Node: a reference, not impgate's path. */
    reference: z.array(z.object({ alg: z.string(), usPerVerify: z.number().positive() })),
  }),
  deviceConnect: ConnectStats,
  fleetConnect: z.object({
    devices: z.number().int().positive(),
    connected: z.number().int().nonnegative(),
    allConnectedMs: ms,
    retries: z.number().int().nonnegative(),
    perDevice: ConnectStats,
  }),
  edgeMemory: z.object({
    baselineMiB: ms,
    steps: z.array(MemoryStep).min(1),
    /** The control relay with as many idle devices as the last step, each on its own object. */
    control: z.object({
      devices: z.number().int().positive(),
      connected: z.number().int().nonnegative(),
      baselineMiB: ms,
      idleMiB: ms,
      perDeviceKiB: finite,
    }),
  }),
  daemon: z.object({
    idleRssMiB: ms,
    /** Private memory: the daemon's own heap and buffers. */
    anonMiB: ms,
    /** Pages mapped from files: mostly the node binary itself, shared and reclaimable. */
    fileMiB: ms,
    peakRssMiB: ms,
    /** The same Node running nothing, for comparison. */
    nodeIdleRssMiB: ms,
    nodeIdleAnonMiB: ms,
  }),
  /** The fleet registry listed page by page through the admin API (bench/phases/registry.ts). */
  registry: z.object({
    imps: z.number().int().positive(),
    pageSize: z.number().int().positive(),
    walks: z
      .array(
        z.object({
          filter: z.string(),
          pages: z.number().int().positive(),
          listed: z.number().int().nonnegative(),
          p50Ms: ms,
          p99Ms: ms,
          maxMs: ms,
        }),
      )
      .min(1),
  }),
  /** Absent from runs made before presence checks existed. */
  presence: PresenceCost.optional(),
  targets: z.array(Target),
  /** Every process the run started, so a test can check none outlived it. */
  pids: z.array(z.number().int().positive()),
});
export type Results = z.infer<typeof Results>;
