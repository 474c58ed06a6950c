/**
 * Shared by the caller-facing agent APIs (messages, events, state). They are mounted after
 * the agent router's id check and caller authentication, so the imp's object and the
 * caller are already known; an RPC's Failure is thrown with `orThrow` and answered by the
 * app's one `onError`.
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { ImpgateError, orThrow, type Result } from "../../edge/errors.ts";
import type { AgentEnv } from "../env.ts";
import { ask } from "../facade.ts";

type CallerFacade = ReturnType<DurableObjectStub<ImpSession>["caller"]>;

/**
 * One call on the imp's caller facade for this request (the caller it admits is the one
 * the agent router authenticated), its value or its refusal thrown.
 */
export async function asCaller<T>(c: Context<AgentEnv>, use: (caller: CallerFacade) => PromiseLike<Result<T>>): Promise<T> {
  return orThrow(await ask(c.var.agent.stub.caller(c.var.call), use));
}

/** Query parameters checked with a schema; the first problem becomes a 400. */
export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, string>): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ImpgateError("bad_request", `${issue?.path.join(".") || "query"}: ${issue?.message ?? "invalid"}`);
}

/** For a reserved agent path used with the wrong method (the caller is already authenticated): 405. */
export function methodNotAllowed(allow: string) {
  return (): never => {
    throw new ImpgateError("method_not_allowed", `Use ${allow}`, { headers: { Allow: allow } });
  };
}

/** Any other path under a reserved agent API (`_messages/a/b`): 404, never relayed to the device. */
export function noSuchApiPath(): never {
  throw new ImpgateError("not_found", "No such agent API path");
}
