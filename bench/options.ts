/** How long and how big a run is: the full benchmark, or `--quick`, a smoke run of seconds. */
export interface BenchOptions {
  mode: "full" | "quick";
  /** Concurrent callers for the round-trip rows. */
  concurrency: number[];
  /** Concurrent callers for the sealed-beside-plain rows (bench/phases/sealed.ts). */
  sealedConcurrency: number[];
  durationS: number;
  warmupS: number;
  /** Connected devices at which the edge's memory is measured; the first step connects one at a time. */
  fleetSteps: number[];
  /** Devices connecting all at once to a freshly started edge. */
  stormDevices: number;
  /** Longest wait for the edge's memory to settle once devices are idle. */
  settleMaxS: number;
  /** How long the daemon idles before its memory is read. */
  daemonIdleS: number;
  /** Idle connected devices whose presence checks are counted, and for how long (after settling). */
  presenceDevices: number;
  presenceWindowS: number;
  presenceSettleS: number;
  jwtBudgetMs: number;
  /** Imps in the fleet registry that is listed page by page. */
  registryImps: number;
}

export const FULL: BenchOptions = {
  mode: "full",
  concurrency: [1, 16, 64],
  sealedConcurrency: [1, 16],
  durationS: 8,
  warmupS: 2,
  fleetSteps: [100, 1000, 5000],
  stormDevices: 1000,
  // An idle Durable Object is evicted ~10 s after its last event (the handshake alarm fires
  // 5 s after connect): 25 s lets the whole fleet hibernate before memory is read.
  settleMaxS: 25,
  daemonIdleS: 10,
  // A window over which each device is checked about twice (every 30-45 s with the defaults),
  // after the connect burst and its handshake alarms (5 s) have passed.
  presenceDevices: 1000,
  presenceWindowS: 60,
  presenceSettleS: 20,
  jwtBudgetMs: 500,
  registryImps: 10_000,
};

export const QUICK: BenchOptions = {
  mode: "quick",
  concurrency: [1, 16, 64],
  sealedConcurrency: [1, 4],
  durationS: 1,
  warmupS: 0.3,
  fleetSteps: [5, 10, 20],
  stormDevices: 10,
  settleMaxS: 2,
  daemonIdleS: 1,
  presenceDevices: 5,
  presenceWindowS: 2,
  presenceSettleS: 1,
  jwtBudgetMs: 30,
  registryImps: 500,
};
