/**
 * What the admin sees about the device: online or not, since when, when it was last
 * heard from, which daemon, and the heartbeat round trip it measured. While it is
 * connected the facts come from the live socket (its attachment and the runtime's
 * heartbeat timestamp, read without waking anything); when it goes offline
 * (./presence.ts), the last of them are kept in storage with why and when, so an offline
 * device still shows when it was last seen.
 */

import type { DeviceStatus, OfflineReason } from "../protocol/admin-api.ts";
import type { ReadyLink } from "./device-link.ts";

interface LastSession {
  lastSeen: number;
  daemon: string;
  rttMs: number | null;
  rttAt: number | null;
  heartbeatMs?: number;
  offlineReason?: OfflineReason;
  offlineSince?: number;
}

/** How the device went offline: why, when the edge saw it, and when it was last heard from. */
export interface WentOffline {
  reason: OfflineReason;
  at: number;
  lastSeen: number;
}

const KEY = "device-last-session";

export class DeviceStatusStore {
  private readonly storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  /** Called once when an authenticated socket's device goes offline. */
  async remember(link: ReadyLink, gone: WentOffline): Promise<void> {
    await this.storage.put<LastSession>(KEY, {
      lastSeen: gone.lastSeen,
      daemon: link.agent,
      rttMs: link.rttMs ?? null,
      rttAt: link.rttAt ?? null,
      ...(link.heartbeatMs ? { heartbeatMs: link.heartbeatMs } : {}),
      offlineReason: gone.reason,
      offlineSince: gone.at,
    });
  }

  /** The heartbeat interval the device last announced, if it ever did. */
  async lastHeartbeatMs(): Promise<number | null> {
    return (await this.storage.get<LastSession>(KEY))?.heartbeatMs ?? null;
  }

  async read(live: { link: ReadyLink; heartbeatAt: Date | null } | null): Promise<DeviceStatus> {
    if (live) {
      const { link } = live;
      return {
        online: true,
        connectedSince: link.readyAt,
        lastSeen: Math.max(link.readyAt, link.rttAt ?? 0, link.lastFrameAt ?? 0, live.heartbeatAt?.getTime() ?? 0),
        deviceAgent: link.agent,
        rttMs: link.rttMs ?? null,
        rttAt: link.rttAt ?? null,
        offlineReason: null,
        offlineSince: null,
        silentSince: null,
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
      offlineReason: last?.offlineReason ?? null,
      offlineSince: last?.offlineSince ?? null,
      silentSince: last?.offlineReason === "silent" ? last.lastSeen : null,
    };
  }
}
