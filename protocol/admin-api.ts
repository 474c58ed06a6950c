/**
 * The admin API's requests and responses (`/admin/…`, Bearer ADMIN_SECRET), as the edge
 * answers them and the `impgate` CLI reads them. Types and constants only: the CLI imports
 * this, never the edge's internals.
 */
import type { JWK } from "jose";

/** Every failed API call answers `ErrorBody` (protocol/errors.ts): `{ error: { code, message } }`. */

// ---- imps -------------------------------------------------------------------------------

/**
 * Why a device went offline: its socket closed (by the device, or the network), it went
 * silent (no heartbeat and no frame for longer than the imp's presence timeout: the edge
 * closed the socket), a newer connection of the same device replaced it, or its key was
 * revoked or replaced.
 */
export type OfflineReason = "closed" | "silent" | "replaced" | "revoked";

/** A device is offline once silent for this long, unless `impgate imp set --presence-timeout` says otherwise. */
export const DEFAULT_PRESENCE_TIMEOUT_S = 45;
export const MAX_PRESENCE_TIMEOUT_S = 86_400;

/**
 * The device's presence, as `imp show`, the fleet registry and the console show it. Times
 * are epoch milliseconds (the edge's clock). `online` already counts silence: a device
 * silent past the imp's presence timeout reads `online: false, offlineReason: "silent"`
 * at once, before the edge's own check has run. The fields change only when the device
 * comes or goes (durable-objects/presence.ts, `cameOnline` / `wentOffline`), besides
 * `lastSeen` and the round trip while it is online, so a copy written at those two
 * moments stays true.
 */
export interface DeviceStatus {
  online: boolean;
  /** Since when it is online (null while offline). */
  connectedSince: number | null;
  /** Last heartbeat, frame or disconnect seen from the device; for a silent one, the same as `silentSince`. */
  lastSeen: number | null;
  /** The daemon's name and version, e.g. "impgate-device/0.1.0". */
  deviceAgent: string | null;
  rttMs: number | null;
  rttAt: number | null;
  /** Why and since when the device is offline (null while online, and for a device never connected). */
  offlineReason: OfflineReason | null;
  offlineSince: number | null;
  /** When it went silent, its last heartbeat or frame (reason "silent" only). */
  silentSince: number | null;
}

/**
 * End-to-end sealing at the edge, per imp (`impgate imp set --e2e`): `required` refuses
 * plaintext requests, messages and events; `optional` relays both; `off` (the default)
 * relays no sealed traffic. Agent code and `required` are alternatives.
 */
export const E2E_MODES = ["required", "optional", "off"] as const;
export type E2eMode = (typeof E2E_MODES)[number];

/** The device's key statement as the edge last received it (it cannot read what is sealed to that key). */
export interface SealedKeyInfo {
  keyId: number;
  sequence: number;
  /** Epoch ms. */
  notAfter: number;
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
  /** Seconds of silence after which the device is offline; 0: presence checks are off. */
  presenceTimeoutS: number;
  queueLimit: number;
  /** Messages waiting for the device, and when the oldest of them was accepted. */
  queuedMessages: number;
  oldestQueuedAt: number | null;
  /** The active agent code version; null: tunnel mode. */
  agentVersion: number | null;
  /** The operator's tags (`impgate imp tag`). */
  tags: string[];
  /** The kill switch (`impgate imp disable`): null while the imp is enabled. */
  disabled: { at: number; by: string; reason: string | null; dropDevice: boolean } | null;
  /** Relayed replies carry `Content-Security-Policy: sandbox`. */
  cspSandbox: boolean;
  e2e: E2eMode;
  /**
   * `sha256:` + the RFC 7638 thumbprint of the device's identity key, as the edge holds it:
   * what a caller pins (`impgate e2e pin --fingerprint`). Null once the key was revoked.
   */
  deviceFingerprint: string | null;
  /** The key statement the edge serves callers, if the device has sent one. */
  sealedKey: SealedKeyInfo | null;
}

/** `GET /admin/imps/<imp>` and `PATCH` of the same: the status and the imp's current agent URL. */
export interface ImpView extends ImpStatus {
  agentId: string;
  agentUrl: string;
}

/** `POST /admin/imps`: the device's public key; its private key never reaches the edge. */
export interface CreateImpRequest {
  label?: string;
  devicePublicJwk: JWK;
}

export interface CreatedImp {
  impId: string;
  label: string;
  agentId: string;
  agentUrl: string;
  deviceUrl: string;
  /** What the device pins to authenticate the edge above TLS. */
  edgeKeys: JWK[];
  /** The device identity key's pin (see ImpStatus.deviceFingerprint). */
  deviceFingerprint: string;
}

/** `PATCH /admin/imps/<imp>`: null puts a setting back to the edge's default. */
export interface UpdateImpRequest {
  requestTimeoutMs?: number | null;
  /** 0 turns presence checks off; otherwise at least twice the device's heartbeat interval. */
  presenceTimeoutS?: number | null;
  queueLimit?: number | null;
  allowHttp?: boolean;
  public?: boolean;
  publicApis?: boolean;
  label?: string;
  cspSandbox?: boolean;
  e2e?: E2eMode;
}

/** `POST /admin/imps/<imp>/rotate-url`. */
export interface RotatedUrl {
  impId: string;
  agentId: string;
  agentUrl: string;
}

/** `PUT` / `DELETE /admin/imps/<imp>/device-key`. */
export interface DeviceKeyChange {
  impId: string;
  deviceKey: "replaced" | "revoked";
}

/** `GET /admin/edge-key`. */
export interface EdgeKeys {
  keys: JWK[];
}

// ---- caller credentials (./credential-api.ts) -------------------------------------------

export {
  type AddCredentialRequest,
  type AddedCredential,
  type CredentialKind,
  type CredentialView,
  DEFAULT_CREDENTIAL_SCOPE,
  type UpdateCredentialRequest,
} from "./credential-api.ts";

// ---- audit ------------------------------------------------------------------------------

/** What the imp's (and the edge's own) audit log records: security events, never a secret. */
export type AuditEvent =
  | "auth_failed"
  | "rate_limited"
  | "code_checks_paused"
  | "credential_added"
  | "credential_revoked"
  | "credential_changed"
  | "scope_refused"
  | "credential_burned"
  | "url_rotated"
  | "http_refused"
  | "settings_changed"
  | "device_connected"
  | "device_disconnected"
  | "device_silent"
  | "device_refused"
  | "device_key_changed"
  | "agent_deployed"
  | "agent_rolled_back"
  | "agent_removed"
  | "agent_outbound_changed"
  | "agent_outbound_refused"
  | "agent_error"
  | "tags_changed"
  | "imp_disabled"
  | "imp_enabled"
  | "admin_auth_failed"
  | "admin_rate_limited"
  | EdgeEvent;

/** What the edge's own log records besides failed admin authentication (fleet-wide and console events). */
export type EdgeEvent =
  | "imp_deleted"
  | "fleet_disabled"
  | "fleet_enabled"
  | "fleet_reindexed"
  | "console_signed_in"
  | "console_signed_out"
  | "console_session_revoked";

export interface AuditEntry {
  seq: number;
  at: number;
  event: AuditEvent;
  client: string;
  detail: Record<string, string | number | boolean>;
}

// ---- agent code -------------------------------------------------------------------------

export const AGENT_HANDLERS = ["fetch", "onDeviceEvent", "onDeviceConnect", "onDeviceDisconnect"] as const;
export type AgentHandler = (typeof AGENT_HANDLERS)[number];

export interface AgentVersion {
  version: number;
  sha256: string;
  size: number;
  /** Which handlers the module exports, found when it was checked at deploy. */
  handlers: AgentHandler[];
  deployedAt: number;
  /** The admin client's address, as for the audit log. */
  deployedFrom: string;
  note: string | null;
}

export interface AgentInfo {
  /** The active version; null: tunnel mode. */
  active: number | null;
  versions: (AgentVersion & { active: boolean })[];
  outbound: string[];
  limits: { cpuMs: number; subRequests: number; codeBytes: number; versionsKept: number };
}

export const LOG_LEVELS = ["debug", "log", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLine {
  level: LogLevel;
  message: string;
}

export interface LogEntry extends LogLine {
  seq: number;
  at: number;
  /** The agent version that wrote it (null: the edge, about no particular version). */
  version: number | null;
  /** "agent" for the code's own lines, "edge" for the platform's. */
  source: "agent" | "edge";
}

export interface LogPage {
  entries: LogEntry[];
  cursor: number;
}
