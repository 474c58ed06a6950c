/**
 * What the worker hands an imp's object about a caller: which agent URL they used, from
 * where, and the credential they presented, already parsed (and for bearer tokens already
 * verified) by the worker. The object makes the final, stateful decision.
 */
import type { ParsedSignature, ScopedRequest, WebhookFormat } from "../protocol/index.ts";
import type { RequestBody } from "./body.ts";

/** A DPoP proof the worker verified (RFC 9449): the imp's replay memory keeps (jkt, jti) until `replayUntil` (Unix s). */
export interface VerifiedProof {
  jkt: string;
  jti: string;
  replayUntil: number;
}

export type CallerProof =
  | { kind: "none" }
  /**
   * An access token whose signature, audience, expiry and scope the worker verified; with
   * `dpop`, it was bound to a key (`cnf.jkt`) and came with a proof that verified.
   */
  | { kind: "bearer"; credId: string; iat: number; ep: number; jti: string; scope: string[] | null; dpop?: VerifiedProof }
  | { kind: "totp"; code: string }
  | { kind: "webhook"; format: WebhookFormat; signature: ParsedSignature }
  /** An RFC 9421 signed request, verified by the imp's object, which holds the credential's key. */
  | { kind: "signature"; keyid: string; method: string; url: string; headers: [string, string][] };

export interface AgentCall {
  /** The per-rotation part of the agent id the caller used. */
  urlSecret: string;
  /** `https://<host>/agent/<agentId>`: the audience of assertions and tokens. */
  agentUrl: string;
  /** The caller's address, for rate limits, `--from` ranges and the audit log. */
  client: string;
  caller: CallerProof;
  /** What the request asks for, as a scope reads it: its own method, canonical path and method overrides. */
  request: ScopedRequest;
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

/**
 * A caller's request as the worker hands it to the imp's object: a body of no declared
 * length still streaming (read by the object, up to the limit, once the caller is admitted),
 * any other already read; `bodyLength` is its declared Content-Length, if any.
 */
export interface CallerRequest extends Omit<RelayRequest, "body"> {
  body: RequestBody;
  bodyLength: number | null;
}

/**
 * The device's reply (or the agent code's response) as the relay hands it back. A large
 * body streams (device-relay.ts), so it is held whole only once on the edge.
 */
export interface RelayReply {
  status: number;
  headers: [string, string][];
  body: Uint8Array | ReadableStream<Uint8Array>;
  /** The imp's operator turned on `Content-Security-Policy: sandbox` for its replies. */
  sandbox?: boolean;
}
