/** impgate-device as a library: connect a device to its edge and answer in code. */
export { connect, DeviceLink, DAEMON_AGENT, type AgentRequest, type AgentReply, type Handlers } from "./link.ts";
export { loadConfig, parseConfig, DeviceConfig, type DeviceConfigInput } from "./config.ts";
export { tunnelTo } from "./tunnel.ts";
export { jsonLogger } from "./log.ts";
