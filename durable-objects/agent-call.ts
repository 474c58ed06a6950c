/**
 * What the worker hands an imp's object about a caller: which agent URL they used, from
 * where, and the credential they presented, already parsed (and for bearer tokens already
 * verified) by the worker. The object makes the final, stateful decision.
 */
import type { ParsedSignature, WebhookFormat } from "../protocol/index.ts";

export type CallerProof =
  | { kind: "none" }
  /** A bearer token whose signature, audience and expiry the worker verified. */
  | { kind: "bearer"; credId: string; iat: number; ep: number; jti: string }
  | { kind: "totp"; code: string }
  | { kind: "webhook"; format: WebhookFormat; signature: ParsedSignature };

export interface AgentCall {
  /** The per-rotation part of the agent id the caller used. */
  urlSecret: string;
  /** `https://<host>/agent/<agentId>`: the audience of assertions and tokens. */
  agentUrl: string;
  /** The caller's address, for rate limits and the audit log. */
  client: string;
  caller: CallerProof;
}

/**
 * A decision the object returns instead of a result, for the worker to turn into a response.
 * A rate limit's scope says what waits: this client at this imp, or (for rotating codes)
 * a credential's code checking, which the worker must not hold against the client.
 */
export type Denial =
  | { kind: "not_found" }
  | { kind: "unauthorized" }
  | { kind: "rate_limited"; retryAfter: number; scope: "client" | "credential" };
