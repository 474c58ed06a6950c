/** impgate-device as a library: connect a device to its edge, answer requests and messages, send events. */
export { connect, DeviceLink, DAEMON_AGENT, type AgentRequest, type AgentReply, type Handlers } from "./link.ts";
export { RetryLater, type AgentMessage, type MessageHandler } from "./inbox.ts";
export { EventError, EventBufferFull, type EventData } from "./outbox.ts";
export { loadConfig, parseConfig, DeviceConfig, ConfigError, type DeviceConfigInput } from "./config.ts";
export { tunnelTo, forwardMessagesTo } from "./tunnel.ts";
export { jsonLogger } from "./log.ts";
