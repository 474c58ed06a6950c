/**
 * ImpSession: one Durable Object per imp. It holds the device's websocket (hibernation
 * API only, so an idle imp costs nothing), authenticates the device, turns agent
 * requests into request frames whose replies it correlates, queues agent messages until
 * the device acknowledges them, and keeps the device's events and the agent's state.
 *
 * Its surface is narrow on purpose (as cloudflare/agents' `@callable` allowlist and
 * partyserver's Server keep theirs): each audience gets a small facade of its own, made
 * per call, and nothing else of the object is reachable over RPC.
 *
 *   admin(client)     the admin API                           ./facades/admin.ts
 *   fleet(client, by) tags, kill switch, delete, registry row  ./facades/fleet.ts
 *   caller(call)      a caller's call: authentication, then   ./facades/caller.ts
 *                     (admitted once) the relay and agent APIs
 *   agent(version)    the imp's agent code, if still active   ./facades/agent.ts
 *   fetch, webSocket* the device's socket                     ./facades/device.ts
 *   requestLog()      the live request log, and its sockets   ./facades/tail.ts
 *
 * A call through a facade is pipelined (worker/facade.ts): `stub.caller(call).messageStatus(id)`
 * is one round trip from the worker. Still, each RPC costs the edge CPU, so the hot path,
 * every request through an agent URL, enters the caller facade with one direct call,
 * `callerRequest(call, req)`: measured side by side with the stub's pipelined pair on the
 * same runtime, that pair cost about 10% more edge CPU per request and 18% fewer requests
 * per second at one caller. A body of no declared length crosses it as a stream, read once
 * the caller is admitted (./device-relay.ts); one of a declared length as bytes (cheaper). The parts the facades share (stores, the relay's pending
 * requests, the alarm) are made once per wake in ./imp-parts.ts.
 */
import { DurableObject } from "cloudflare:workers";
import type { AgentCall, CallerRequest, RelayReply } from "../edge/agent-call.ts";
import type { EdgeEnv } from "../edge/env.ts";
import type { Result } from "../edge/errors.ts";
import { ImpAdmin } from "./facades/admin.ts";
import { ImpAgent } from "./facades/agent.ts";
import { ImpCaller } from "./facades/caller.ts";
import { DeviceSocket } from "./facades/device.ts";
import { ImpFleet } from "./facades/fleet.ts";
import { ImpRequestLog, isTailRequest, isTailSocket, TailSockets } from "./facades/tail.ts";
import { ImpParts } from "./imp-parts.ts";

export type { AgentCall } from "../edge/agent-call.ts";

export class ImpSession extends DurableObject<EdgeEnv> {
  readonly #parts: ImpParts;
  readonly #device: DeviceSocket;
  readonly #tail: TailSockets;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.#parts = new ImpParts(ctx, env);
    this.#device = new DeviceSocket(this.#parts);
    this.#tail = new TailSockets(this.#parts);
  }

  /** The admin API's view of this imp; `client` (the admin's address) goes into the audit log. */
  admin(client: string): ImpAdmin {
    return new ImpAdmin(this.#parts, client);
  }

  /** The fleet's view of this imp; `by` (who, as the admin API was told) goes into the audit log with `client`. */
  fleet(client: string, by: string): ImpFleet {
    return new ImpFleet(this.#parts, client, by);
  }

  /** One caller's call through an agent URL: its authentication, then (admitted once) what it reaches. */
  caller(call: AgentCall): ImpCaller {
    return new ImpCaller(this.#parts, call);
  }

  /** The hot path: a caller's request to the agent URL, `caller(call).request(req)` in one RPC (see above). */
  async callerRequest(call: AgentCall, req: CallerRequest): Promise<Result<RelayReply>> {
    return new ImpCaller(this.#parts, call).request(req);
  }

  /** A sealed request (`POST $AGENT/_sealed`) in one RPC, as `callerRequest` is for plaintext ones. */
  async callerSealed(call: AgentCall, sealed: Uint8Array): Promise<Result<RelayReply>> {
    return new ImpCaller(this.#parts, call).sealedRequest(sealed);
  }

  /** What agent code version `version` may do; refused once it is no longer the active version. */
  agent(version: number): ImpAgent {
    return new ImpAgent(this.#parts, version);
  }

  /** The live request log: the lines of requests the relay did not take (worker/tail-lines.ts). (Not `tail()`: that name is the runtime's Tail Worker handler.) */
  requestLog(): ImpRequestLog {
    return new ImpRequestLog(this.#parts);
  }

  /** The worker forwards `GET /device/<impId>/connect` (Upgrade: websocket) here, and opens tail sockets. */
  async fetch(request: Request): Promise<Response> {
    if (isTailRequest(request)) return this.#tail.connect();
    return this.#device.connect(request);
  }

  // Each socket goes to the facade of its tag. A frame's tag is asked only while someone
  // tails, so the device's frames cost nothing more when nobody does.
  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (this.#parts.tail.active && isTailSocket(this.ctx, ws)) return this.#tail.message(ws, data);
    return this.#device.message(ws, data);
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (isTailSocket(this.ctx, ws)) return this.#tail.close(ws, code);
    return this.#device.close(ws, code);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    if (isTailSocket(this.ctx, ws)) return this.#tail.error();
    return this.#device.error(ws);
  }

  /** One alarm for every deadline: presence checks, handshake timeouts, message TTLs, old message status, idempotency keys. */
  async alarm(): Promise<void> {
    if (this.#parts.deleted) return;
    await this.#parts.scheduler.run(Date.now());
  }
}
