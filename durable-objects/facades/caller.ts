/**
 * One caller's call through an agent URL: everything the worker asks the imp's object on
 * a caller's behalf (worker/auth/, worker/routes/agent*.ts). The worker made it from a
 * request whose credential it already parsed (and for a bearer token, verified).
 *
 *   before admission   the stateful half of authentication: is this agent URL current,
 *                      redeem an assertion for an access token, plain HTTP, the failures
 *                      the worker decided alone
 *   admitted           the relay to the device or the imp's agent code, and the agent's
 *                      own APIs (`_messages`, `_events`, `_state`): each method begins with
 *                      `#admit`, the one admission (the agent URL must be the imp's current
 *                      one, then the credential must pass the stateful checks), made once
 *
 * To add a caller-facing API: a method that begins with `this.#admit("apis")` (or a new
 * surface, if it must be opened separately) and answers a Result. A new credential kind:
 * its exchange, if it has one, next to `exchange`; its per-request check in
 * CallerCheck.authorize, which `#admit` runs.
 */
import { RpcTarget } from "cloudflare:workers";
import type { AgentCall, CallerRequest, RelayReply } from "../../edge/agent-call.ts";
import type { FailureEntry } from "../../edge/auth/failures.ts";
import { type RequestBody, readBody } from "../../edge/body.ts";
import { edgeKey } from "../../edge/edge-key.ts";
import { maxBodyBytes } from "../../edge/env.ts";
import { DONE, type Failure, fail, ok, type Result } from "../../edge/errors.ts";
import { MAX_DATA_BYTES, NAME_PATTERN } from "../../protocol/index.ts";
import type { StateEntry } from "../agent-state.ts";
import type { Surface } from "../caller-check.ts";
import { type ExchangeInput, exchange, type MintedToken } from "../caller-exchange.ts";
import { relay } from "../device-relay.ts";
import { refuseMessage, refusePlaintextRequest } from "../e2e-policy.ts";
import type { EventPage, EventQuery } from "../event-store.ts";
import { callerScope, type SentMessage } from "../idempotency.ts";
import type { ImpParts } from "../imp-parts.ts";
import type { ImpRecord } from "../imp-record.ts";
import { enqueue, enqueueOnce } from "../message-intake.ts";
import type { MessageInfo, NewMessage } from "../message-queue.ts";
import { relaySealed, sealedKey } from "../sealed-relay.ts";

/** Unknown, rotated and revoked agent ids: the worker answers the same 404 for all of them. */
export const AGENT_NOT_FOUND: Failure = fail("not_found", "Not found");
const INSECURE: Failure = fail("insecure_access", "Insecure access forbidden");
/**
 * The kill switch (`impgate imp disable`): 423 with no detail, to every caller of the imp's
 * current agent URL, before any credential is looked at. Decided here, in the imp's object,
 * where the switch is stored: no cache in any worker isolate can let a request past it.
 */
export const LOCKED: Failure = fail("locked", "Locked");
/** At most this many failures of one batch are audited one by one; the rest are counted. */
const MAX_BATCH = 50;

/** A caller let in: the imp, and the credential it authenticated with (null: a `--public` imp's anonymous caller). */
interface Admitted {
  imp: ImpRecord;
  credId: string | null;
}

export class ImpCaller extends RpcTarget {
  readonly #parts: ImpParts;
  readonly #call: AgentCall;
  /** Admission per surface, decided once: a credential's single-use parts (a code, a webhook's signature) are spent once. */
  readonly #admitted = new Map<Surface, Promise<Result<Admitted>>>();

  constructor(parts: ImpParts, call: AgentCall) {
    super();
    this.#parts = parts;
    this.#call = call;
  }

  /** The current agent URL, then the caller's credential. The body matters only to signed webhooks. */
  #admit(surface: Surface, body: Uint8Array = new Uint8Array(0)): Promise<Result<Admitted>> {
    let admitted = this.#admitted.get(surface);
    if (!admitted) {
      admitted = (async (): Promise<Result<Admitted>> => {
        const imp = await currentImp(this.#parts, this.#call);
        if (!imp) return AGENT_NOT_FOUND;
        if (imp.disabled) return LOCKED;
        const verdict = await this.#parts.callers.authorize(imp, this.#call, body, surface);
        return verdict.ok ? ok({ imp, credId: verdict.value.credId }) : verdict;
      })();
      this.#admitted.set(surface, admitted);
    }
    return admitted;
  }

  // ---- before admission ----

  /** Whether the call uses the imp's current agent URL (challenges for rotated URLs get the same 404). */
  async current(): Promise<Result<null>> {
    const imp = await currentImp(this.#parts, this.#call);
    return imp ? (imp.disabled ? LOCKED : DONE) : AGENT_NOT_FOUND;
  }

  /**
   * Before the worker answers a credential it refused by itself (a forged token, a made-up
   * nonce): a disabled imp answers 423 to every caller, whatever it sent.
   */
  async locked(): Promise<Result<null>> {
    return (await currentImp(this.#parts, this.#call))?.disabled ? LOCKED : DONE;
  }

  /** Redeems a signed assertion over a challenge nonce (its MAC and time checked by the worker) for an access token. */
  async exchange(input: ExchangeInput): Promise<Result<MintedToken>> {
    const imp = await currentImp(this.#parts, this.#call);
    if (!imp) return AGENT_NOT_FOUND;
    if (imp.disabled) return LOCKED;
    return exchange(this.#parts.callers, imp, this.#call, await edgeKey(this.#parts.env.EDGE_SIGNING_JWK), input);
  }

  /**
   * Plain HTTP reached this agent: allowed only if the operator opted in; otherwise audited,
   * and what was sent is burned. A rotated URL gets the same refusal (HTTP reveals nothing).
   */
  async plainHttp(body: Uint8Array, nonce?: string): Promise<Result<null>> {
    const imp = await currentImp(this.#parts, this.#call);
    if (!imp) return INSECURE;
    if (imp.allowHttp) return imp.disabled ? LOCKED : DONE;
    this.#parts.audit.record("http_refused", this.#call.client, { credential: this.#call.caller.kind });
    await this.#parts.callers.burn(this.#call, body, nonce);
    // Exposed is exposed: what came over plain HTTP is burned even when the imp is disabled.
    return imp.disabled ? LOCKED : INSECURE;
  }

  /** Failures the worker refused by itself, batched; each is audited and counted toward rate limits. */
  async recordFailures(entries: FailureEntry[], dropped: number): Promise<Result<null>> {
    // Batched, so the URL may have rotated since: the worker's MAC check already tied these to this imp.
    if (!(await this.#parts.record.get())) return fail("imp_not_found", "No such imp");
    for (const e of entries.slice(0, MAX_BATCH)) {
      const call = { ...this.#call, client: e.client };
      if (e.reason !== "insufficient_scope") this.#parts.callers.recordFailure(call, e.reason, e.at);
      else this.#parts.audit.record("scope_refused", e.client, scopeDetail(e), e.at);
    }
    if (dropped > 0) this.#parts.audit.record("auth_failed", this.#call.client, { reason: "more refused in the worker", count: dropped });
    return DONE;
  }

  // ---- admitted ----

  /**
   * A request to the agent URL: to the imp's agent code if it has some, else relayed to
   * the device (tunnel mode). Agent code never sees a request refused above.
   */
  async request(req: CallerRequest): Promise<Result<RelayReply>> {
    const startedAt = Date.now();
    const result = await this.#request(req);
    // The live request log (`impgate tail`): one line, refusals included, if anyone reads it.
    if (this.#parts.tail.active) {
      const admitted = await this.#admitted.get("relay");
      this.#parts.tail.relayed(this.#call, req, result, admitted?.ok ? admitted.value.credId : null, startedAt);
    }
    return result;
  }

  async #request(req: CallerRequest): Promise<Result<RelayReply>> {
    // As for messages: a signature over the body is checked with the body, anyone else is
    // admitted before a byte of it is read (the relay reads it into the device's frame).
    const max = maxBodyBytes(this.#parts.env);
    const signed = signsBody(this.#call) ? await readBody(req.body, max) : null;
    if (signed && !signed.ok) return signed;
    const admitted = await this.#admit("relay", signed?.value);
    if (!admitted.ok) {
      if (req.body instanceof ReadableStream) await req.body.cancel().catch(() => {});
      return admitted;
    }
    const { imp, credId } = admitted.value;
    const plaintext = refusePlaintextRequest(imp);
    if (plaintext) return plaintext;
    const agent = this.#parts.agent.active();
    const reply = agent
      ? await this.#agentRequest(imp, agent, req, signed, credId)
      : await relay(this.#parts, imp, signed ? { ...req, body: signed.value } : req);
    return reply.ok && imp.cspSandbox ? ok({ ...reply.value, sandbox: true }) : reply;
  }

  /** The device's key statement (`GET _sealed/key`): the relay's surface, as sealed requests are. */
  async sealedKey(): Promise<Result<string>> {
    const admitted = await this.#admit("relay");
    return admitted.ok ? sealedKey(this.#parts, admitted.value.imp) : admitted;
  }

  /** A sealed request (`POST _sealed`), relayed unread to the device, never to agent code. */
  async sealedRequest(sealed: Uint8Array): Promise<Result<RelayReply>> {
    const admitted = await this.#admit("relay", sealed);
    return admitted.ok ? relaySealed(this.#parts, admitted.value.imp, sealed, this.#call.client) : admitted;
  }

  /** The request to the imp's agent code, its body read whole first (up to the limit). */
  async #agentRequest(
    imp: ImpRecord,
    agent: NonNullable<ReturnType<ImpParts["agent"]["active"]>>,
    req: CallerRequest,
    signed: Result<Uint8Array> | null,
    credId: string | null,
  ): Promise<Result<RelayReply>> {
    const body = signed ?? (await readBody(req.body, maxBodyBytes(this.#parts.env)));
    if (!body.ok) return body;
    return this.#parts.agent.handleRequest(imp, agent, { ...req, body: body.value }, { credId, client: this.#call.client });
  }

  /**
   * Queues a message for the device; it is sent at once if the device is online. With an
   * idempotency key, a retry of an accepted request gets the original answer, replayed.
   */
  async sendMessage(meta: Omit<NewMessage, "data">, body: RequestBody, idempotencyKey: string | null): Promise<Result<SentMessage>> {
    // A webhook's signature (or an RFC 9421 one) covers its body, so that is read before the
    // caller is known; anyone else is authenticated before a byte of it is read.
    const signed = signsBody(this.#call) ? await readBody(body, MAX_DATA_BYTES) : null;
    if (signed && !signed.ok) return signed;
    const admitted = await this.#admit("apis", signed?.value);
    if (!admitted.ok) return admitted;
    const { imp, credId } = admitted.value;
    const mode = refuseMessage(imp, meta.contentType);
    if (mode) return mode;
    const read = async (): Promise<Result<NewMessage>> => {
      const data = signed ?? (await readBody(body, MAX_DATA_BYTES));
      return data.ok ? ok({ ...meta, data: data.value }) : data;
    };
    if (idempotencyKey !== null) return enqueueOnce(this.#parts, imp, callerScope(credId), idempotencyKey, read);
    const input = await read();
    return input.ok ? enqueue(this.#parts, imp, input.value) : input;
  }

  async messageStatus(id: string): Promise<Result<MessageInfo>> {
    const admitted = await this.#admit("apis");
    if (!admitted.ok) return admitted;
    const info = this.#parts.queue.get(id, Date.now());
    return info ? ok(info) : fail("message_not_found", "No such message (unknown, or finished more than a day ago)");
  }

  /** Recent device events, or those after a cursor; with `waitMs`, waits for the next one. */
  async readEvents(query: EventQuery): Promise<Result<EventPage>> {
    const admitted = await this.#admit("apis");
    if (!admitted.ok) return admitted;
    if (query.name !== undefined && !NAME_PATTERN.test(query.name)) return fail("bad_name", "Not a valid event name");
    const { events, waiters } = this.#parts;
    // Waiting without a cursor means "the next event from now on".
    const after = query.after ?? (query.waitMs > 0 ? events.head() : undefined);
    let found = events.read({ name: query.name, after, limit: query.limit });
    if (found.length === 0 && query.waitMs > 0) {
      if (waiters.full) return fail("too_many_waiters", "Too many callers are waiting for this imp's events");
      await waiters.wait(query.name, query.waitMs);
      // The imp may have been deleted (its tables with it) while this caller waited.
      if (this.#parts.deleted) return AGENT_NOT_FOUND;
      found = events.read({ name: query.name, after, limit: query.limit });
    }
    const cursor = found.at(-1)?.seq ?? Math.max(after ?? 0, events.head());
    return ok({ events: found, latest: events.latest(query.name), cursor });
  }

  async listState(): Promise<Result<{ entries: StateEntry[]; bytes: number }>> {
    const admitted = await this.#admit("apis");
    return admitted.ok ? ok(this.#parts.state.list()) : admitted;
  }

  async readState(key: string): Promise<Result<StateEntry>> {
    const admitted = await this.#admit("apis");
    return admitted.ok ? this.#parts.state.get(key) : admitted;
  }

  async writeState(key: string, json: string): Promise<Result<StateEntry>> {
    // The body, for a signature that covers it (Content-Digest).
    const admitted = await this.#admit("apis", new TextEncoder().encode(json));
    return admitted.ok ? this.#parts.state.put(key, json, Date.now()) : admitted;
  }

  async deleteState(key: string): Promise<Result<{ key: string }>> {
    const admitted = await this.#admit("apis");
    return admitted.ok ? this.#parts.state.delete(key) : admitted;
  }
}

const encoder = new TextEncoder();

/** The imp, if `call` came through its current agent URL; a rotated id gets the same null as an unknown one. */
export async function currentImp(parts: ImpParts, call: AgentCall): Promise<ImpRecord | null> {
  const imp = await parts.record.get();
  if (!imp) return null;
  const a = encoder.encode(imp.urlSecret);
  const b = encoder.encode(call.urlSecret);
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b) ? imp : null;
}

/** A webhook's signature, or an RFC 9421 one, covers the body: it is read before the caller is admitted. */
function signsBody(call: AgentCall): boolean {
  return call.caller.kind === "webhook" || call.caller.kind === "signature";
}

/** What a refused request asked for, bounded for the audit log. */
function scopeDetail(e: FailureEntry): Record<string, string> {
  return { ...(e.credId ? { credId: e.credId } : {}), method: (e.method ?? "").slice(0, 16), path: (e.path ?? "").slice(0, 200) };
}
