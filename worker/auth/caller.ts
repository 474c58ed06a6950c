/**
 * Caller authentication for agent URLs, as middleware the agent routes compose:
 *   plainHttpRule       plain HTTP is refused (and what it carried is burned) unless the agent opted in
 *   authenticateCaller  reads the credential, refuses garbage and forged tokens right here (no
 *                       Durable Object is needed to know a signature is bad), and hands the rest
 *                       to the imp's object, which makes the stateful decision.
 * Rate limits are checked first, before any verification.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AgentCall, CallerProof, Denial } from "../../durable-objects/agent-call.ts";
import { parseWebhookSignature, TOTP_HEADER, WEBHOOK_FORMATS, WEBHOOK_HEADERS } from "../../protocol/index.ts";
import { edgeKey } from "../edge-key.ts";
import type { AgentEnv } from "../env.ts";
import { notFoundError } from "../errors.ts";
import { isHttps } from "../middleware/https-only.ts";
import { verifyAccessToken } from "./access-token.ts";
import { assertionClaims } from "./assertion.ts";
import { auditWorkerFailure } from "./failure-audit.ts";
import type { AuthFailure } from "./failures.ts";
import { RateGuard } from "./rate-guard.ts";
import { clientAddress, insecure, rateLimited, unauthorized } from "./refusals.ts";

/** This isolate's view of failing clients: refuses repeat offenders without any Durable Object. */
const localGuard = new RateGuard();

type Parsed = { caller: CallerProof } | { failure: AuthFailure };

/** Reads the credential a request carries; bearer tokens are fully verified here. */
async function readCredential(c: Context<AgentEnv>, agentUrl: string): Promise<Parsed> {
  const authorization = c.req.header("authorization");
  if (authorization !== undefined) {
    const token = /^Bearer ([A-Za-z0-9_.~+/-]+=*)$/.exec(authorization)?.[1];
    if (!token) return { failure: "malformed" };
    const claims = await verifyAccessToken(await edgeKey(c.env.EDGE_SIGNING_JWK), token, agentUrl);
    return typeof claims === "string" ? { failure: claims } : { caller: { kind: "bearer", ...claims } };
  }
  for (const format of WEBHOOK_FORMATS) {
    const header = c.req.header(WEBHOOK_HEADERS[format]);
    if (header === undefined) continue;
    const signature = parseWebhookSignature(format, header);
    return signature ? { caller: { kind: "webhook", format, signature } } : { failure: "malformed" };
  }
  const code = c.req.header(TOTP_HEADER);
  if (code !== undefined) return /^\d{6}$/.test(code) ? { caller: { kind: "totp", code } } : { failure: "malformed" };
  return { caller: { kind: "none" } };
}

export function callFor(c: Context<AgentEnv>, caller: CallerProof): AgentCall {
  const { agent } = c.var;
  return { urlSecret: agent.urlSecret, agentUrl: agent.agentUrl, client: clientAddress(c.req.raw), caller };
}

/** Refuses a client this isolate has seen fail too often, before anything is verified. */
export function checkRateLimit(c: Context<AgentEnv>): void {
  const wait = localGuard.clientRetryAfter(clientAddress(c.req.raw));
  if (wait) throw rateLimited(wait);
}

/** A failure decided in the worker: counted here, audited in the imp's log in the background, batched. */
export function failHere(c: Context<AgentEnv>, reason: AuthFailure): never {
  localGuard.failClient(clientAddress(c.req.raw));
  const { agent } = c.var;
  auditWorkerFailure((p) => c.executionCtx.waitUntil(p), agent.impId, agent.stub, callFor(c, { kind: "none" }), reason);
  throw unauthorized(c.req.header("authorization") === undefined ? "invalid_request" : "invalid_token");
}

export const authenticateCaller: MiddlewareHandler<AgentEnv> = async (c, next) => {
  checkRateLimit(c);
  const parsed = await readCredential(c, c.var.agent.agentUrl);
  if ("failure" in parsed) failHere(c, parsed.failure);
  c.set("call", callFor(c, parsed.caller));
  await next();
};

/** Turns the object's denial into the response, remembering rate limits in this isolate. */
export function deny(c: Context<AgentEnv>, refusal: Denial): never {
  switch (refusal.kind) {
    case "not_found":
      throw notFoundError();
    case "rate_limited":
      // Remember the object's verdict here, so this client's next attempts stop in the worker.
      localGuard.blockClient(clientAddress(c.req.raw));
      throw rateLimited(refusal.retryAfter);
    case "unauthorized":
      localGuard.failClient(clientAddress(c.req.raw));
      throw unauthorized(c.var.call?.caller.kind === "none" ? "invalid_request" : "invalid_token");
  }
}

export const plainHttpRule: MiddlewareHandler<AgentEnv> = async (c, next) => {
  if (isHttps(c.req.raw)) return next();
  const parsed = await readCredential(c, c.var.agent.agentUrl);
  const caller: CallerProof = "caller" in parsed ? parsed.caller : { kind: "none" };
  const body =
    caller.kind === "webhook" || c.req.path.endsWith("/_auth/token") ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array(0);
  // An assertion sent in the clear is spent too: its nonce can no longer be redeemed.
  const nonce = c.req.path.endsWith("/_auth/token") ? assertionClaims(new TextDecoder().decode(body))?.nonce : undefined;
  const verdict = await c.var.agent.stub.plainHttp(callFor(c, caller), caller.kind === "webhook" ? body : new Uint8Array(0), nonce);
  if (verdict !== "allow") throw insecure();
  await next();
};
