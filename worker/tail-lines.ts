/**
 * The live request log's lines the worker writes: every request to an agent URL whose
 * imp is known that the imp's relay did not log itself. The relay logs every request it
 * takes, refused or not (durable-objects/tail-log.ts), and the relay route marks those
 * (`loggedByImp`); this middleware writes the rest: the agent's own APIs (`_messages`,
 * `_events`, `_state`), `_auth`, and the refusals decided before the relay (a forged or
 * expired token, a client held back by the rate limit, plain HTTP, a bad path).
 *
 * The worker cannot know whether anyone reads the log without asking the object, and a
 * refusal decided here must not wake it each time: lines are batched per imp and sent in
 * the background (./imp-batches.ts), the first at once and then at most one batch a
 * second per imp and isolate, at most 100 lines a batch (the rest are counted as dropped).
 * A line holds what protocol/tail.ts lists, nothing more: never a header, a query's
 * content, a body or the agent id.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ImpgateError } from "../edge/errors.ts";
import { canonicalPath } from "../protocol/index.ts";
import type { TailLine } from "../protocol/tail.ts";
import type { AgentEnv } from "./env.ts";
import { ask } from "./facade.ts";
import { ImpBatches } from "./imp-batches.ts";

const batches = new ImpBatches<TailLine>({ windowMs: 1_000, maxItems: 100 });
const loggedByObject = new WeakSet<Context>();

/** The relay route: the imp's object logged this request, refused or not. */
export function loggedByImp(c: Context<AgentEnv>): void {
  loggedByObject.add(c);
}

/** After everything else on an agent URL whose id resolved: a request the object did not log becomes a line. */
export const tailLines: MiddlewareHandler<AgentEnv> = async (c, next) => {
  const at = Date.now();
  await next();
  if (loggedByObject.has(c)) return;
  const { agent, call } = c.var;
  const { path, query } = pathAfterId(c.req.url, agent.agentId);
  const line: TailLine = {
    at,
    method: c.req.method,
    path,
    query,
    status: c.res.status,
    ms: Date.now() - at,
    cred: call?.caller.kind === "bearer" ? call.caller.credId : null,
    ...(c.error instanceof ImpgateError ? { code: c.error.code } : c.res.status >= 500 ? { code: "internal" } : {}),
  };
  const { stub } = agent;
  batches.add(
    (p) => c.executionCtx.waitUntil(p),
    agent.impId,
    line,
    (lines, dropped) => ask(stub.requestLog(), (log) => log.publish(lines, dropped)),
  );
};

/** The canonical path after the agent id (null if it has none), and whether there was a query. */
function pathAfterId(url: string, agentId: string): { path: string | null; query: boolean } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  const raw = url.slice(start, q < 0 ? undefined : q);
  const after = raw.slice(raw.indexOf(agentId) + agentId.length);
  const canonical = canonicalPath(after);
  return { path: canonical.ok ? canonical.path : null, query: q >= 0 };
}
