/** Agent code as the admin API reports it: defined with the rest of the admin API, in protocol/. */
export type { AgentHandler, AgentInfo, AgentVersion, LogEntry, LogLevel, LogLine } from "../protocol/admin-api.ts";
export { AGENT_HANDLERS, LOG_LEVELS } from "../protocol/admin-api.ts";
