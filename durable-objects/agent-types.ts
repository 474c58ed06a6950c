/** Agent code as the admin API reports it (shared with the CLI, so it holds types and constants only). */

export const AGENT_HANDLERS = ["fetch", "onDeviceEvent"] as const;
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
