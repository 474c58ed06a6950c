/**
 * What one version of the imp's agent code may do (through worker/agent-api.ts, which
 * the isolate reaches with the imp and version fixed by the edge): queue messages, make
 * requests to the device, use the agent state, write its log. A version rolled back or
 * removed while it still finishes some work may no longer act: the active version is
 * checked once, here, for every capability.
 *
 * To add a capability: a method that begins with `this.#active()` and answers a Result,
 * and its checked entrypoint in worker/agent-api.ts.
 */
import { RpcTarget } from "cloudflare:workers";
import type { RelayReply, RelayRequest } from "../../edge/agent-call.ts";
import { DONE, fail, ok, type Result } from "../../edge/errors.ts";
import type { LogLine } from "../../protocol/admin-api.ts";
import { type StateOp, stateOp } from "../agent-state.ts";
import { relay } from "../device-relay.ts";
import { AGENT_SCOPE, type SentMessage } from "../idempotency.ts";
import type { ImpParts } from "../imp-parts.ts";
import type { ImpRecord } from "../imp-record.ts";
import { enqueue, enqueueOnce } from "../message-intake.ts";
import { DEFAULT_TTL_MS, type NewMessage } from "../message-queue.ts";
import { AGENT_NOT_FOUND, LOCKED } from "./caller.ts";

/** What `device.send` hands over, already checked by worker/agent-api.ts. */
export interface AgentSend {
  name: string;
  data: Uint8Array;
  contentType: string | null;
  /** Seconds. */
  ttl?: number;
  idempotencyKey?: string;
}

export class ImpAgent extends RpcTarget {
  readonly #parts: ImpParts;
  readonly #version: number;
  #checked: Promise<Result<ImpRecord>> | undefined;

  constructor(parts: ImpParts, version: number) {
    super();
    this.#parts = parts;
    this.#version = version;
  }

  /** The imp, if this version is the active one: checked once per facade. */
  #active(): Promise<Result<ImpRecord>> {
    this.#checked ??= (async (): Promise<Result<ImpRecord>> => {
      const imp = await this.#parts.record.get();
      if (!imp) return AGENT_NOT_FOUND;
      // A disabled imp's agent code may not act, even a call still finishing from before.
      if (imp.disabled) return LOCKED;
      if (this.#parts.agentCode.activeVersion() !== this.#version) {
        return fail("agent_inactive", `Agent version ${this.#version} is no longer active`);
      }
      return ok(imp);
    })();
    return this.#checked;
  }

  async send(input: AgentSend): Promise<Result<SentMessage>> {
    const imp = await this.#active();
    if (!imp.ok) return imp;
    const ttlMs = input.ttl === undefined ? DEFAULT_TTL_MS : Math.round(input.ttl * 1000);
    const message: NewMessage = { name: input.name, data: input.data, contentType: input.contentType, ttlMs };
    // The agent's code is a caller of its own: its keys never meet a caller's.
    if (input.idempotencyKey !== undefined) {
      return enqueueOnce(this.#parts, imp.value, AGENT_SCOPE, input.idempotencyKey, async () => ok(message));
    }
    return enqueue(this.#parts, imp.value, message);
  }

  async request(req: RelayRequest): Promise<Result<RelayReply>> {
    const imp = await this.#active();
    return imp.ok ? relay(this.#parts, imp.value, req) : imp;
  }

  /** get → the JSON text; put → the entry; delete → the key; list → { key: JSON text }. */
  async state(op: StateOp): Promise<Result<unknown>> {
    const imp = await this.#active();
    return imp.ok ? stateOp(this.#parts.state, op, Date.now()) : imp;
  }

  /** Console lines from the isolate, into the imp's agent log. */
  async log(lines: LogLine[]): Promise<Result<null>> {
    const imp = await this.#active();
    if (!imp.ok) return imp;
    this.#parts.agentLogs.append(lines, "agent", this.#version);
    return DONE;
  }

  /** The outbound gate refused a request of this version's: logged and audited, whichever version it was (not an action of its own). */
  async outboundRefused(host: string, reason: string): Promise<Result<null>> {
    this.#parts.agent.outboundRefused(this.#version, host, reason);
    return DONE;
  }
}
