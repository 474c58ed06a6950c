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

/** A caller's request as the relay sends it to the device (or hands it to the imp's agent code). */
export interface RelayRequest {
  method: string;
  /** The canonical path (protocol/canonical-path.ts). */
  path: string;
  /** The query as sent, with its "?", or "". */
  query: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** The device's reply (or the agent code's response) as the relay hands it back. */
export interface RelayReply {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  /** The imp's operator turned on `Content-Security-Policy: sandbox` for its replies. */
  sandbox?: boolean;
}
