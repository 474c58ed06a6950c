/**
 * Shared by the caller-facing agent APIs (messages, events, state). They are mounted after
 * the agent router's id check and caller authentication, so the imp's object and the
 * caller are already known; an RPC refusal becomes the one JSON error shape.
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { AgentCall, ImpSession } from "../../durable-objects/imp-session.ts";
import type { Outcome } from "../../durable-objects/outcome.ts";
import type { AgentEnv } from "../env.ts";
import { ApiError, notFoundError } from "../errors.ts";

export interface AgentTarget {
  stub: DurableObjectStub<ImpSession>;
  call: AgentCall;
}

/** The imp's object and the authenticated call, as the agent router established them. */
export function agentTarget(c: Context<AgentEnv>): AgentTarget {
  return { stub: c.var.agent.stub, call: c.var.call };
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  // The same 404 as for unknown ids, byte for byte.
  if (outcome.status === 404 && outcome.code === "not_found") throw notFoundError();
  throw new ApiError(outcome.status, outcome.code, outcome.message, outcome.headers);
}

/** Query parameters checked with a schema; the first problem becomes a 400. */
export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, string>): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ApiError(400, "bad_request", `${issue?.path.join(".") || "query"}: ${issue?.message ?? "invalid"}`);
}

/** For a reserved agent path used with the wrong method (the caller is already authenticated): 405. */
export function methodNotAllowed(allow: string) {
  return (): never => {
    throw new ApiError(405, "method_not_allowed", `Use ${allow}`, { Allow: allow });
  };
}

/** Any other path under a reserved agent API (`_messages/a/b`): 404, never relayed to the device. */
export function noSuchApiPath(): never {
  throw new ApiError(404, "not_found", "No such agent API path");
}
