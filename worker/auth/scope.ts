/**
 * What a request asks for, in the terms a scope reads (protocol/scope.ts): its own method,
 * its canonical path, and the methods it asks a local service to use instead (override
 * headers, `_method` in the query or a form body). A token's scope is checked here, in the
 * worker, before any Durable Object is called; the credential's own scope (and everything
 * else about it) is checked where it lives (durable-objects/credentials-gate.ts).
 */
import type { Context } from "hono";
import type { AgentCall } from "../../edge/agent-call.ts";
import { outsideScope } from "../../edge/auth/caller-refusals.ts";
import { methodOverrides, permits, requiredAccess, type Scope, type ScopedRequest } from "../../protocol/scope.ts";
import type { AgentEnv } from "../env.ts";
import { auditWorkerFailure } from "./failure-audit.ts";

/** The scope of the token each call came with, parsed once (worker/auth/token.ts). */
const tokenScopes = new WeakMap<AgentCall, Scope>();

/** The request as a scope reads it. The path is the canonical one the app routes on (worker/routes/agent.ts). */
export function scopedRequest(c: Context<AgentEnv>): ScopedRequest {
  const canonicalPath = c.req.path.slice(`/agent/${c.var.agent.agentId}`.length) || "/";
  const url = c.req.url;
  const q = url.indexOf("?");
  const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  return { method: c.req.method, canonicalPath, methodOverrides: methodOverrides(c.req.raw.headers, query) };
}

/** Remembers the scope of the token `call` came with, and refuses the request at once if it lies outside it. */
export function holdTokenScope(c: Context<AgentEnv>, call: AgentCall, scope: Scope | null): void {
  if (scope === null) return;
  tokenScopes.set(call, scope);
  checkTokenScope(c, call);
}

/**
 * 403 `insufficient_scope` for a request its token's scope does not permit. Paths under
 * `/_` that are no API of impgate's are left to their 404: no scope names them.
 */
function checkTokenScope(c: Context<AgentEnv>, call: AgentCall): void {
  const scope = tokenScopes.get(call);
  if (!scope || permits(scope, call.request)) return;
  if (requiredAccess(call.request.method, call.request.canonicalPath).kind === "reserved") return;
  const { agent } = c.var;
  const credId = call.caller.kind === "bearer" ? call.caller.credId : undefined;
  auditWorkerFailure((p) => c.executionCtx.waitUntil(p), agent.impId, agent.stub, call, "insufficient_scope", {
    ...(credId ? { credId } : {}),
    method: call.request.method,
    path: call.request.canonicalPath,
  });
  throw outsideScope(call.caller, call.request);
}

const FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"];

/**
 * A relayed form body may carry `_method` (Rails, Laravel, Symfony, express's
 * method-override): those methods join the request's overrides, and the token's scope is
 * checked again. A form that cannot be read counts as an unknown override, which only a
 * `*` entry permits: the local service might read it as some method.
 */
export async function addFormOverrides(c: Context<AgentEnv>, call: AgentCall, body: Uint8Array): Promise<void> {
  const type = (c.req.header("content-type") ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
  if (body.length === 0 || !FORM_TYPES.includes(type)) return;
  let found: string[];
  try {
    const form = await new Response(body, { headers: { "content-type": c.req.header("content-type") ?? type } }).formData();
    found = methodOverrides(new Headers(), new URLSearchParams(), form);
  } catch {
    found = ["?"];
  }
  if (found.length === 0) return;
  call.request.methodOverrides = [...(call.request.methodOverrides ?? []), ...found];
  checkTokenScope(c, call);
}
