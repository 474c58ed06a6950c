/** impgate-device as a library: connect a device to its edge, answer requests and messages, send events. */

export { ConfigError, DeviceConfig, type DeviceConfigInput, loadConfig, parseConfig } from "./config.ts";
export { type AgentMessage, type MessageHandler, RetryLater } from "./inbox.ts";
export { type AgentReply, type AgentRequest, connect, DAEMON_AGENT, DeviceLink, type Handlers } from "./link.ts";
export { jsonLogger, type Level, type Logger, makeLogger } from "./log.ts";
export { EventBufferFull, type EventData, EventError } from "./outbox.ts";
export { ExitCode, PermanentRefusal, type RefusalCause } from "./refusals.ts";
export { forwardMessagesTo, tunnelTo } from "./tunnel.ts";
