/**
 * Types for impgate agent code. `impgate agent init` writes this file beside a starter
 * agent; `impgate agent deploy <imp> agent.js` uploads the agent.
 *
 * An agent is one ES module, run at the edge in its own isolate for one imp:
 *
 *   export default {
 *     async fetch(request, env, ctx) { … return new Response(…); },   // agent URL requests
 *     async onDeviceEvent(event, env, ctx) { … },                     // events the device sends
 *     async onDeviceConnect(env, ctx) { … },                          // the device came online
 *     async onDeviceDisconnect({ reason }, env, ctx) { … },           // …and went offline
 *   } satisfies Agent;
 *
 * impgate runs its own checks first: `fetch` only ever sees requests that came over HTTPS
 * from an authenticated caller (or any caller, if the operator made the imp public).
 * There is no network unless the operator allowed hosts (`impgate agent outbound`), and
 * then only HTTPS to those hosts. console.log/info/warn/error go to `impgate agent logs`.
 * Paths under /_ on the agent URL (/_auth, /_messages, /_events, /_state) are impgate's
 * own and never reach the agent.
 */

export interface Agent {
  /**
   * A request to the imp's agent URL. `request.url` is `https://agent.invalid/<path>?<query>`:
   * the path and query after the agent URL (never its secret id). Two headers are set by
   * impgate alone: `impgate-credential` (the id of the credential the caller used, or
   * "public") and `impgate-client` (the caller's address). The caller's Authorization
   * header is not passed on. Bodies are at most 1 MiB each way.
   */
  fetch?(request: Request, env: AgentEnv, ctx: AgentContext): Response | Promise<Response>;
  /**
   * An event the device sent (`link.send(name, data)`), after the edge stored and
   * acknowledged it; one at a time, in order, at most once (events that arrive while 64
   * wait, or while the edge restarts, are only in the event store: GET /_events).
   */
  onDeviceEvent?(event: DeviceEvent, env: AgentEnv, ctx: AgentContext): void | Promise<void>;
  /**
   * The device came online: it connected and proved its key. Once per connection, in
   * order with its events and with onDeviceDisconnect; at most once (a restart of the
   * edge, or more than 64 calls waiting, skips one).
   */
  onDeviceConnect?(env: AgentEnv, ctx: AgentContext): void | Promise<void>;
  /**
   * The device went offline, once per connection, and why (see `DisconnectReason`).
   * Messages sent meanwhile wait in the queue; `env.device.request` answers 503.
   */
  onDeviceDisconnect?(info: { reason: DisconnectReason }, env: AgentEnv, ctx: AgentContext): void | Promise<void>;
}

/**
 * Why the device went offline:
 * - `closed`: its connection closed (the daemon stopped, or the network closed it);
 * - `silent`: no heartbeat and no frame for longer than the imp's presence timeout
 *   (`impgate imp set --presence-timeout`, default 45 s): a power cut, dead Wi-Fi, a NAT
 *   that forgot the connection; the edge closed the socket;
 * - `replaced`: the same device connected again before the old connection ended (a
 *   connect follows at once);
 * - `revoked`: its device key was revoked or replaced.
 */
export type DisconnectReason = "closed" | "silent" | "replaced" | "revoked";

export interface AgentEnv {
  device: Device;
  state: State;
}

export interface AgentContext {
  /** Work that may go on after the response; its console output is logged when it ends. */
  waitUntil(promise: Promise<unknown>): void;
}

export interface Device {
  /**
   * Queues a message for the device: delivered in order, once, when it is online (now or
   * later, until `ttl` seconds pass: default 24 h, 1 s to 7 days). Data: a string
   * (text/plain), bytes (application/octet-stream) or any JSON value (application/json),
   * up to 64 KiB. Rejects when the queue is full (`queue_full: …`) or the name is bad.
   * With `idempotencyKey` (1-255 printable ASCII characters), a send the edge already
   * accepted under that key in the last 24 h is not queued again: it resolves to the
   * first one's answer with `replayed: true` (the same key with other data rejects with
   * `idempotency_key_reused: …`). The agent's keys are its own, apart from callers' keys.
   */
  send(
    name: string,
    data?: unknown,
    options?: { ttl?: number; contentType?: string; idempotencyKey?: string },
  ): Promise<{ id: string; status: "queued"; expiresAt: number; replayed: boolean }>;
  /**
   * A request to the device now (its local service, in tunnel mode), answered with its
   * response. Never rejects for the device's sake: offline is a 503 (`device_offline`, or
   * `device_silent` when it went silent while the request waited), no answer within the
   * imp's request timeout a 504, a link dropped mid-request a 502 (JSON error bodies).
   * `path` starts with / and may carry a query.
   */
  request(path: string, init?: { method?: string; headers?: HeadersInit; body?: BodyInit | null }): Promise<Response>;
}

/** The imp's key/value state, the same one callers see at /_state: JSON values, 16 KiB each, 128 KiB and 256 keys in all. */
export interface State {
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Rejects with `value_too_large: …` or `state_full: …` past the limits. */
  put(key: string, value: unknown): Promise<void>;
  /** Whether there was a value. */
  delete(key: string): Promise<boolean>;
  list(): Promise<Record<string, unknown>>;
}

export interface DeviceEvent {
  id: string;
  name: string;
  /** When the edge received it, epoch ms. */
  at: number;
  contentType: string | null;
  /** A JSON value for JSON events, a string for text, a Uint8Array for anything else. */
  data: unknown;
}
