/** An imp as the admin API reports it (shared with the CLI, so it holds types only). */

export interface DeviceStatus {
  online: boolean;
  connectedSince: number | null;
  /** Last heartbeat, frame or disconnect seen from the device. */
  lastSeen: number | null;
  /** The daemon's name and version, e.g. "impgate-device/0.1.0". */
  deviceAgent: string | null;
  rttMs: number | null;
  rttAt: number | null;
}

export interface ImpStatus extends DeviceStatus {
  impId: string;
  label: string;
  createdAt: number;
  /** False once the device key was revoked. */
  deviceKey: boolean;
  allowHttp: boolean;
  /** The relay answers unauthenticated callers. */
  public: boolean;
  /** `_messages`, `_events` and `_state` answer unauthenticated callers. */
  publicApis: boolean;
  requestTimeoutMs: number;
  queueLimit: number;
  /** Messages waiting for the device, and when the oldest of them was accepted. */
  queuedMessages: number;
  oldestQueuedAt: number | null;
  /** The active agent code version; null: tunnel mode. */
  agentVersion: number | null;
}
