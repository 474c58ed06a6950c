/**
 * The end-to-end fixture: `useSystem()` in a test file starts one edge for the file (before
 * its first test, stopped after its last), and everything a test starts through it (local
 * services, daemons, programs) is stopped when that test ends, or when the file ends if it
 * was started in `beforeAll`. Their output is kept, not printed: when a test fails, the
 * edge's and the daemons' logs are printed under it, so a green run stays quiet.
 *
 *   const e2e = useSystem();
 *   it("relays", async () => {
 *     const { imp, service, auth } = await e2e.device("tunnel");
 *     expect((await e2e.request(`${imp.agentUrl}/x`, { headers: auth })).status).toBe(200);
 *   });
 */
import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { type CliResult, impgate } from "./cli.ts";
import { type Daemon, startDaemon, startProgram } from "./daemon.ts";
import { type Reply, type RequestOptions, request } from "./https.ts";
import { type LocalService, type Received, startLocalService } from "./local-service.ts";
import {
  type CreatedImp,
  callerCredential,
  callerRequest,
  createImp,
  type DeviceConfig,
  editConfig,
  type System,
  startSystem,
} from "./system.ts";

/** Reconnects within half a second: tests that take the edge away do not wait for the daemon's default backoff. */
export const FAST_RECONNECT = { baseMs: 100, maxMs: 500 };

export interface Device {
  imp: CreatedImp;
  service: LocalService;
  daemon: Daemon;
  /** The Authorization header of a caller credential of `imp` (empty with `caller: false`). */
  auth: Record<string, string>;
}

/** How a local service answers (the default echoes the request body back). */
export type Handler = (req: Received, res: ServerResponse) => void;

export interface DeviceOptions {
  /** The local service the daemon forwards to: one of the test's, or a handler for a new one. */
  service?: LocalService | Handler;
  /** More daemon arguments (`--forward` is given). */
  args?: string[];
  /** Whether to make a caller credential (`auth`); default true. */
  caller?: boolean;
  /** Changes to the device config before the daemon starts. */
  edit?: (config: DeviceConfig) => DeviceConfig | undefined | Promise<DeviceConfig | undefined>;
}

export interface E2E {
  /** The running system (from the file's `beforeAll` on). */
  readonly system: System;
  /** The admin CLI with this edge's profile. */
  cli(...args: string[]): Promise<CliResult>;
  /** A new imp (`impgate imp create`); its device config reconnects fast, then `edit` changes it. */
  imp(label: string, edit?: DeviceOptions["edit"]): Promise<CreatedImp>;
  /** A local HTTP service for tunnel mode, recording what it receives. */
  service(handler?: Handler): Promise<LocalService>;
  /** Starts the daemon for an imp (or a config file). */
  daemon(imp: CreatedImp | string, args?: string[], env?: Record<string, string>): Daemon;
  /** Starts a Node program that logs JSON lines, like a device written with the library. */
  program(file: string, args?: string[], env?: Record<string, string>): Daemon;
  /** The usual device: a new imp, its daemon in tunnel mode in front of a local service, connected; and a caller credential. */
  device(label: string, options?: DeviceOptions): Promise<Device>;
  /** A request trusting the edge's CA, with no credential. */
  request(url: string, options?: Omit<RequestOptions, "ca">): Promise<Reply>;
  /** A request to an agent URL path as an authenticated caller of `imp`. */
  call(imp: CreatedImp, path: string, options?: Omit<RequestOptions, "ca" | "agent">): Promise<Reply>;
  /** Anything else to stop when the test (or, from `beforeAll`, the file) ends. */
  defer(stop: () => unknown): void;
}

interface Scope {
  stops: (() => unknown)[];
  daemons: Daemon[];
}

/** Printed for a failed test: the end of each log, where the trouble usually is. */
const EDGE_TAIL = 12_000;
const DAEMON_TAIL = 80;

export function useSystem(vars: Record<string, string> = {}): E2E {
  let running: System | undefined;
  const file: Scope = { stops: [], daemons: [] };
  let test: Scope | undefined;
  const scope = () => test ?? file;

  const stopScope = async (s: Scope) => {
    const stops = s.stops.splice(0).reverse();
    const results = await Promise.allSettled(stops.map((stop) => stop()));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  };

  beforeAll(async () => {
    running = await startSystem(vars);
  });
  beforeEach(({ onTestFailed }) => {
    const current: Scope = { stops: [], daemons: [] };
    test = current;
    onTestFailed(() => {
      const parts: string[] = [];
      if (running) parts.push(`--- the edge (wrangler dev) said ---\n${running.edgeOutput().slice(-EDGE_TAIL)}`);
      for (const d of [...file.daemons, ...current.daemons]) {
        const lines = d.log().split("\n");
        parts.push(`--- ${d.name} (pid ${d.child.pid}) logged ---\n${lines.slice(-DAEMON_TAIL).join("\n")}`);
      }
      console.error(parts.join("\n"));
    });
  });
  afterEach(async () => {
    const current = test;
    test = undefined;
    if (current) await stopScope(current);
  });
  afterAll(async () => {
    try {
      await stopScope(file);
    } finally {
      await running?.stop();
    }
  });

  const e2e: E2E = {
    get system() {
      if (!running) throw new Error("the system is started in beforeAll: use e2e.system inside tests or hooks");
      return running;
    },
    cli: (...args) => impgate([...args, "--profile", e2e.system.profile]),
    async imp(label, edit) {
      const imp = await createImp(e2e.system, label);
      await editConfig(imp.config, (c) => {
        c.reconnect = FAST_RECONNECT;
        return edit?.(c);
      });
      return imp;
    },
    async service(handler) {
      const service = await startLocalService(handler);
      e2e.defer(() => service.close());
      return service;
    },
    daemon(imp, args = [], env = {}) {
      return track(startDaemon(typeof imp === "string" ? imp : imp.config, args, env));
    },
    program(file, args = [], env = {}) {
      return track(startProgram(file, args, env));
    },
    async device(label, options = {}) {
      const imp = await e2e.imp(label, options.edit);
      const service = typeof options.service === "object" ? options.service : await e2e.service(options.service);
      const daemon = e2e.daemon(imp, ["--forward", service.url, ...(options.args ?? [])]);
      const [auth] = await Promise.all([options.caller === false ? {} : callerCredential(e2e.system, imp), daemon.waitReady()]);
      return { imp, service, daemon, auth };
    },
    request: (url, options = {}) => request(url, { ...options, ca: e2e.system.pki.caPem }),
    call: (imp, path, options) => callerRequest(e2e.system, imp, path, options),
    defer(stop) {
      scope().stops.push(stop);
    },
  };

  function track(daemon: Daemon): Daemon {
    scope().daemons.push(daemon);
    e2e.defer(() => daemon.stop());
    return daemon;
  }

  return e2e;
}
