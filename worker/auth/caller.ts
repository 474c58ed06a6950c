/**
 * Caller authentication for agent URLs, as middleware the agent routes compose:
 *   plainHttpRule       plain HTTP is refused (and what it carried is burned) unless the agent opted in
 *   authenticateCaller  reads the credential, refuses garbage and forged tokens, bad DPoP proofs
 *                       and requests outside a token's scope right here (no Durable Object is
 *                       needed to know a signature is bad), and hands the rest to the imp's
 *                       object, which makes the stateful decision (and checks what the
 *                       credential may do: durable-objects/credentials-gate.ts).
 *   rememberRefusals    counts every 401 an agent URL answers, and remembers every wait the
 *                       imp's object imposed, in this isolate, so a failing client's next
 *                       attempts stop in the worker
 * Rate limits are checked first, before any verification. They count each client per imp:
 * a client's failures at one imp never hold it back at another.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AgentCall, CallerProof } from "../../edge/agent-call.ts";
import type { AuthFailure } from "../../edge/auth/failures.ts";
import { signatureKeyId } from "../../edge/auth/http-signature.ts";
import { RateGuard } from "../../edge/auth/rate-guard.ts";
import { clientAddress, clientKey } from "../../edge/client.ts";
import { edgeKey } from "../../edge/edge-key.ts";
import { maxBodyBytes } from "../../edge/env.ts";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { callerUnauthorized, rateLimited, unauthorized } from "../../edge/refusals.ts";
import { parseWebhookSignature, type Scope, TOTP_HEADER, WEBHOOK_FORMATS, WEBHOOK_HEADERS } from "../../protocol/index.ts";
import type { AgentEnv } from "../env.ts";
import { ask } from "../facade.ts";
import { bodyTooLarge, readBodyWithin } from "../middleware/body-limit.ts";
import { isHttps } from "../middleware/https-only.ts";
import { assertionClaims, assertionInBody, MAX_ASSERTION_BYTES } from "./assertion.ts";
import { checkChallenge } from "./challenge.ts";
import { auditWorkerFailure } from "./failure-audit.ts";
import { holdTokenScope, scopedRequest } from "./scope.ts";
import { readToken } from "./token.ts";

/** This isolate's view of failing clients, per imp: refuses repeat offenders without any Durable Object. */
const localGuard = new RateGuard();

/** The guard's key: this client at this imp. */
function guardKey(c: Context<AgentEnv>): string {
  return `${c.var.agent.impId} ${clientKey(clientAddress(c.req.raw))}`;
}

type Parsed = { caller: CallerProof; scope?: Scope | null } | { failure: AuthFailure; answer?: ImpgateError };

/**
 * Reads the credential a request carries; access tokens (and their DPoP proofs) are fully
 * verified here. `proofs: false` only identifies a token, without its proof.
 */
async function readCredential(c: Context<AgentEnv>, agentUrl: string, proofs = true): Promise<Parsed> {
  const req = c.req.raw;
  if (req.headers.has("authorization")) {
    const read = await readToken(req, await edgeKey(c.env.EDGE_SIGNING_JWK), agentUrl, proofs);
    return "failure" in read ? read : { caller: { kind: "bearer", ...read.caller }, scope: read.scope };
  }
  if (req.headers.has("signature-input")) {
    // RFC 9421: the imp's object holds the key, so it verifies; here only the credential it names is read.
    const keyid = signatureKeyId(req.headers);
    if (keyid === null || keyid.length > 128) return { failure: "sig_malformed", answer: unauthorized("invalid_token") };
    return { caller: { kind: "signature", keyid, method: req.method, url: req.url, headers: [...req.headers] } };
  }
  for (const format of WEBHOOK_FORMATS) {
    const header = c.req.header(WEBHOOK_HEADERS[format]);
    if (header === undefined) continue;
    const signature = parseWebhookSignature(format, header);
    return signature ? { caller: { kind: "webhook", format, signature } } : { failure: "malformed" };
  }
  const code = c.req.header(TOTP_HEADER);
  // 8 digits; 6 for credentials made before codes had 8.
  if (code !== undefined) return /^(\d{6}|\d{8})$/.test(code) ? { caller: { kind: "totp", code } } : { failure: "malformed" };
  return { caller: { kind: "none" } };
}

export function callFor(c: Context<AgentEnv>, caller: CallerProof): AgentCall {
  const { agent } = c.var;
  return { urlSecret: agent.urlSecret, agentUrl: agent.agentUrl, client: clientAddress(c.req.raw), caller, request: scopedRequest(c) };
}

/** Refuses a client this isolate has seen fail too often at this imp, before anything is verified. */
export function checkRateLimit(c: Context<AgentEnv>): void {
  const wait = localGuard.retryAfter(guardKey(c));
  if (wait) throw rateLimited(wait);
}

/**
 * The refusal of a credential the worker rejected by itself (thrown by the caller):
 * audited in the imp's log in the background, batched (and counted by rememberRefusals);
 * `answer`, else the one 401. First the imp's object is asked whether the imp is disabled:
 * a disabled imp answers 423 to every caller, whatever credential it sent, and only its
 * object knows that for certain.
 */
export async function refusal(c: Context<AgentEnv>, reason: AuthFailure, answer?: ImpgateError): Promise<ImpgateError> {
  const { agent } = c.var;
  const call = callFor(c, { kind: "none" });
  const locked = await ask(agent.stub.caller(call), (caller) => caller.locked());
  if (!locked.ok) return ImpgateError.from(locked);
  auditWorkerFailure((p) => c.executionCtx.waitUntil(p), agent.impId, agent.stub, call, reason);
  return answer ?? callerUnauthorized(c.req.header("authorization") === undefined ? "none" : "bearer");
}

/** A refusal the worker decided about a valid credential (a token's scope): 423 instead, if the imp is disabled. */
export async function unlessLocked(c: Context<AgentEnv>, err: unknown): Promise<unknown> {
  if (!(err instanceof ImpgateError)) return err;
  const locked = await ask(c.var.agent.stub.caller(callFor(c, { kind: "none" })), (caller) => caller.locked());
  return locked.ok ? err : ImpgateError.from(locked);
}

export const authenticateCaller: MiddlewareHandler<AgentEnv> = async (c, next) => {
  checkRateLimit(c);
  const parsed = await readCredential(c, c.var.agent.agentUrl);
  if ("failure" in parsed) throw await refusal(c, parsed.failure, parsed.answer);
  const call = callFor(c, parsed.caller);
  c.set("call", call);
  // A token's scope is known here: a request outside it never reaches the imp's object.
  try {
    holdTokenScope(c, call, parsed.scope ?? null);
  } catch (err) {
    throw await unlessLocked(c, err);
  }
  await next();
};

/**
 * After everything else on an agent URL: every 401 counts against the client in this
 * isolate, and a wait the imp's object imposed on the client is remembered here, so its
 * next attempts stop in the worker. A paused credential is not the client's doing: its
 * other credentials must keep working, so that wait is not remembered.
 */
export const rememberRefusals: MiddlewareHandler<AgentEnv> = async (c, next) => {
  await next();
  rememberRefusal(c, c.error);
};

/** rememberRefusals for one refusal (the agent router's gate calls it around its own steps). */
export function rememberRefusal(c: Context<AgentEnv>, err: unknown): void {
  if (!(err instanceof ImpgateError)) return;
  if (err.code === "unauthorized") localGuard.fail(guardKey(c));
  else if (err.code === "rate_limited" && err.scope === "client" && err.retryAfter) localGuard.block(guardKey(c), err.retryAfter);
}

/**
 * Plain HTTP: refused unless the agent opted in, and whatever credential it carried is burned.
 * Only a body that can carry a credential (a webhook's, an assertion) is read for that, and
 * never past its limit: an over-limit body cannot be accepted on any scheme, so it holds
 * nothing to burn and is not read on.
 */
export const plainHttpRule: MiddlewareHandler<AgentEnv> = async (c, next) => {
  if (isHttps(c.req.raw)) return next();
  const parsed = await readCredential(c, c.var.agent.agentUrl, false);
  const caller: CallerProof = "caller" in parsed ? parsed.caller : { kind: "none" };
  const isToken = c.req.path.endsWith("/_auth/token");
  const limit = isToken ? MAX_ASSERTION_BYTES : maxBodyBytes(c.env);
  const body = caller.kind === "webhook" || isToken ? await readBodyWithin(c.req.raw, limit) : undefined;
  const nonce = isToken && body ? await spentNonce(c, body) : undefined;
  const signed = caller.kind === "webhook" && body ? body : new Uint8Array(0);
  orThrow(await ask(c.var.agent.stub.caller(callFor(c, caller)), (facade) => facade.plainHttp(signed, nonce)));
  if (body === null) throw bodyTooLarge(limit);
  // The body was read here: hand the rest of the chain the same bytes.
  if (body && c.req.raw.bodyUsed) c.req.raw = new Request(c.req.raw, { body });
  await next();
};

/** The nonce an assertion sent in the clear would redeem, if this edge minted it for this agent: it is spent. */
async function spentNonce(c: Context<AgentEnv>, body: Uint8Array): Promise<string | undefined> {
  const assertion = assertionInBody(new TextDecoder().decode(body), c.req.header("content-type"));
  const nonce = assertion === null ? undefined : assertionClaims(assertion)?.nonce;
  if (nonce === undefined) return undefined;
  // A made-up nonce is never stored: only the edge's own can fill the imp's replay memory.
  return (await checkChallenge(c.env.AGENT_ID_KEY, c.var.agent.agentId, nonce)) === null ? undefined : nonce;
}
