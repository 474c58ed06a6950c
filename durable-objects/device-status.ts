/**
 * What the admin sees about the device: online or not, since when, when it was last
 * heard from, which daemon, and the heartbeat round trip it measured. While it is
 * connected the facts come from the live socket (its attachment and the runtime's
 * heartbeat timestamp, read without waking anything); when it leaves, the last of them
 * are kept in storage so an offline device still shows when it was last seen.
 */

import type { DeviceStatus } from "../protocol/admin-api.ts";
import type { ReadyLink } from "./device-link.ts";

interface LastSession {
  lastSeen: number;
  daemon: string;
  rttMs: number | null;
  rttAt: number | null;
}

const KEY = "device-last-session";

export class DeviceStatusStore {
  private readonly storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  /** Called when an authenticated socket goes away. */
  async remember(link: ReadyLink, now: number): Promise<void> {
    await this.storage.put<LastSession>(KEY, { lastSeen: now, daemon: link.agent, rttMs: link.rttMs ?? null, rttAt: link.rttAt ?? null });
  }

  async read(live: { link: ReadyLink; heartbeatAt: Date | null } | null): Promise<DeviceStatus> {
    if (live) {
      const { link } = live;
      return {
        online: true,
        connectedSince: link.readyAt,
        lastSeen: Math.max(link.readyAt, link.rttAt ?? 0, live.heartbeatAt?.getTime() ?? 0),
        deviceAgent: link.agent,
        rttMs: link.rttMs ?? null,
        rttAt: link.rttAt ?? null,
      };
    }
    const last = await this.storage.get<LastSession>(KEY);
    return {
      online: false,
      connectedSince: null,
      lastSeen: last?.lastSeen ?? null,
      deviceAgent: last?.daemon ?? null,
      rttMs: last?.rttMs ?? null,
      rttAt: last?.rttAt ?? null,
    };
  }
}
