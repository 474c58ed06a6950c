/**
 * Shared by the caller-facing agent APIs (messages, events, state): which imp's object
 * an agent id addresses, and how an RPC refusal becomes the one JSON error shape.
 */
import type { z } from "zod";
import type { Env } from "../env.ts";
import { ApiError } from "../errors.ts";
import { verifyAgentId } from "../ids.ts";
import type { AgentCall, ImpSession } from "../../durable-objects/imp-session.ts";
import type { Outcome } from "../../durable-objects/outcome.ts";

export interface AgentTarget {
  stub: DurableObjectStub<ImpSession>;
  call: AgentCall;
}

/** The imp behind `agentId`; anything this edge did not mint gets the same 404 as the relay's. */
export async function agentTarget(env: Env, agentId: string): Promise<AgentTarget> {
  const agent = await verifyAgentId(env.AGENT_ID_KEY, agentId);
  if (!agent) throw new ApiError(404, "not_found", "Not found");
  return { stub: env.IMP.getByName(agent.impId), call: { urlSecret: agent.urlSecret } };
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(outcome.status, outcome.code, outcome.message);
}

/** Query parameters checked with a schema; the first problem becomes a 400. */
export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, string>): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ApiError(400, "bad_request", `${issue?.path.join(".") || "query"}: ${issue?.message ?? "invalid"}`);
}

/** For a reserved agent path used with the wrong method: 405, after the same agent id check. */
export function methodNotAllowed(allow: string) {
  return async (c: { env: Env; req: { param(name: "agentId"): string } }): Promise<never> => {
    await agentTarget(c.env, c.req.param("agentId"));
    throw new ApiError(405, "method_not_allowed", `Use ${allow}`, { Allow: allow });
  };
}

/** Any other path under a reserved agent API (`_messages/a/b`): 404, never relayed to the device. */
export async function noSuchApiPath(c: { env: Env; req: { param(name: "agentId"): string } }): Promise<never> {
  await agentTarget(c.env, c.req.param("agentId"));
  throw new ApiError(404, "not_found", "No such agent API path");
}
