/** impgate-device as a library: connect a device to its edge, answer requests and messages, send events. */

export { ConfigError, DeviceConfig, type DeviceConfigInput, loadConfig, parseConfig } from "./config.ts";
export { type AgentMessage, type MessageHandler, RetryLater } from "./inbox.ts";
export { connect, DeviceLink } from "./link.ts";
export { DAEMON_AGENT, type Handlers } from "./link-options.ts";
export { jsonLogger, type Level, type Logger, makeLogger } from "./log.ts";
export { EventBufferFull, type EventData, EventError } from "./outbox.ts";
export { ExitCode, PermanentRefusal, type RefusalCause } from "./refusals.ts";
export type { AgentReply, AgentRequest } from "./requests.ts";
export { forwardMessagesTo, tunnelTo } from "./tunnel.ts";
