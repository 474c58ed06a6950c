/** What `connect()` takes besides the config: the handlers, the options, and the daemon's name in its hello. */
import type { MessageHandler } from "./inbox.ts";
import type { Logger } from "./log.ts";
import type { RequestHandler } from "./requests.ts";

export const DAEMON_VERSION = "0.1.0";
/**
 * The name and version the daemon gives the edge in its hello (`impgate imp show` prints it).
 *
 * @example
 * ```ts
 * import { DAEMON_AGENT } from "impgate/device/index.ts";
 * console.log(DAEMON_AGENT); // "impgate-device/0.1.0"
 * ```
 */
export const DAEMON_AGENT = `impgate-device/${DAEMON_VERSION}`;

/**
 * What a device does with what the edge sends it.
 *
 * @example
 * ```ts
 * import { connect, type Handlers } from "impgate/device/index.ts";
 * const handlers: Handlers = {
 *   request: async (req) => ({ status: 200, body: `hello from ${req.path}` }),
 *   message: async (msg) => console.log("message", msg.name),
 * };
 * connect(config, handlers);
 * ```
 */
export interface Handlers {
  /** Answers an agent HTTP request. Without it every request gets 501. */
  request?: RequestHandler;
  /**
   * Handles an agent message, once: it is acknowledged after this returns, and its id
   * is kept in `config.stateDir` so a restart does not run it again. Without it,
   * messages stay queued at the edge (until their TTL) for a daemon that has one.
   */
  message?: MessageHandler;
}

export interface LinkOptions {
  log?: Logger;
  /**
   * The file the config came from: named in refusal messages, re-read when the edge
   * refuses every device key held (`impgate-device rekey` may have run since), and
   * rewritten to drop `previousDeviceKey` once the edge accepted the new key.
   */
  configFile?: string;
}
