/**
 * The admin API's fleet routes (`/admin/imps` listing, tags, the kill switch, delete,
 * reindex), as the edge answers them and the `impgate` CLI reads them. Types and
 * constants only, like ./admin-api.ts.
 */

/** One imp as the fleet registry lists it: a copy its object wrote at its last change. */
export interface FleetImp {
  impId: string;
  label: string;
  tags: string[];
  createdAt: number;
  online: boolean;
  /** When the device connected (online), else null. */
  onlineSince: number | null;
  /** Last heartbeat, frame or disconnect seen from the device, as of the row's last write. */
  lastSeen: number | null;
  /** The daemon's name and version. */
  deviceAgent: string | null;
  /** Why the device is offline, when the edge knows ("closed", "silent", …). */
  offlineReason: string | null;
  /** When the device went silent (no heartbeat), if that is why it is offline. */
  silentSince: number | null;
  /** Tunnel mode (requests go to the device) or agent code. */
  agentMode: "tunnel" | "code";
  agentVersion: number | null;
  /** Messages waiting for the device when the row was last written. */
  queuedMessages: number;
  disabled: boolean;
  disabledAt: number | null;
  disabledReason: string | null;
  /** When the imp's object last wrote this row. */
  updatedAt: number;
}

/** `GET /admin/imps?online=&tag=&q=&cursor=&limit=`: one page, and the cursor of the next (null: the last page). */
export interface FleetPage {
  imps: FleetImp[];
  cursor: string | null;
}

export const FLEET_PAGE_DEFAULT = 50;
export const FLEET_PAGE_MAX = 500;

/** A tag: 1-32 of lower-case letters, digits and `_ . : -`, a letter or digit first. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,31}$/;
export const MAX_TAGS = 16;

/** `POST /admin/imps/<imp>/tags`: tags to add and to remove; answers the imp's tags. */
export interface TagChange {
  add?: string[];
  remove?: string[];
}

export interface ImpTags {
  impId: string;
  tags: string[];
}

/** `POST /admin/imps/<imp>/disable` (and `/admin/fleet/disable` with a tag). */
export interface DisableRequest {
  /** Why, for the audit log and the console (at most 200 characters). */
  reason?: string;
  /** Also close the device's socket, and refuse it until the imp is enabled again. */
  dropDevice?: boolean;
}

/** The kill switch's state, as `disable` and `enable` answer it. */
export interface ImpSwitch {
  impId: string;
  disabled: boolean;
  disabledAt: number | null;
  disabledBy: string | null;
  disabledReason: string | null;
  dropDevice: boolean;
}

/**
 * `POST /admin/fleet/disable` / `enable` `{ tag, reason?, dropDevice?, cursor? }`: one batch of
 * the imps the registry lists under the tag; `cursor` null once all were done.
 */
export interface FleetSwitchBatch {
  tag: string;
  changed: string[];
  failed: { impId: string; code: string }[];
  cursor: string | null;
}

/** `DELETE /admin/imps/<imp>`. */
export interface DeletedImp {
  impId: string;
  deleted: true;
}

/**
 * `POST /admin/fleet/reindex { cursor? }`: one batch of the fleet index, each imp's row
 * rewritten by its object (or removed, for an imp that no longer exists).
 */
export interface ReindexBatch {
  checked: number;
  written: number;
  removed: number;
  cursor: string | null;
}

/** The request header whose value the admin API records as who made a change ("by" in the audit log). */
export const OPERATOR_HEADER = "impgate-operator";
