/**
 * The stateful half of caller authentication, before anyone is admitted (worker/auth/,
 * worker/routes/agent-auth.ts): is this agent URL current, redeem an assertion for an
 * access token, plain HTTP, and the failures the worker decided alone. Whatever verifies
 * without storage (token signatures, nonce MACs) was checked in the worker already.
 *
 * A new credential kind's exchange (a DPoP-bound token, a signed request's key) goes
 * here; its per-request check goes in CallerCheck.authorize, which ImpCaller runs.
 */
import { RpcTarget } from "cloudflare:workers";
import type { AgentCall } from "../../edge/agent-call.ts";
import type { FailureEntry } from "../../edge/auth/failures.ts";
import { edgeKey } from "../../edge/edge-key.ts";
import { DONE, type Failure, fail, type Result } from "../../edge/errors.ts";
import type { ImpParts } from "../imp-parts.ts";
import { AGENT_NOT_FOUND } from "./caller.ts";
import { currentImp, LOCKED } from "./current.ts";

const INSECURE: Failure = fail("insecure_access", "Insecure access forbidden");
/** At most this many failures of one batch are audited one by one; the rest are counted. */
const MAX_BATCH = 50;

export class ImpAuth extends RpcTarget {
  readonly #parts: ImpParts;
  readonly #call: AgentCall;

  constructor(parts: ImpParts, call: AgentCall) {
    super();
    this.#parts = parts;
    this.#call = call;
  }

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
  async exchange(input: {
    assertion: string;
    credId: string;
    nonce: string;
    nonceExpiresAt: number;
  }): Promise<Result<{ token: string; expiresIn: number }>> {
    const imp = await currentImp(this.#parts, this.#call);
    if (!imp) return AGENT_NOT_FOUND;
    if (imp.disabled) return LOCKED;
    return this.#parts.callers.exchange(imp, this.#call, await edgeKey(this.#parts.env.EDGE_SIGNING_JWK), input);
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
    for (const e of entries.slice(0, MAX_BATCH)) this.#parts.callers.recordFailure({ ...this.#call, client: e.client }, e.reason, e.at);
    if (dropped > 0) this.#parts.audit.record("auth_failed", this.#call.client, { reason: "more refused in the worker", count: dropped });
    return DONE;
  }
}
