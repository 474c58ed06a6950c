/**
 * The live request log's lines for what the imp's object did not log itself: refusals on
 * an agent URL whose imp is known (a forged or expired token, a client held back by the
 * rate limit, plain HTTP, a bad path, a refused call to the agent's own APIs). The object
 * logs every request that reaches its relay, refused or not (durable-objects/tail-log.ts);
 * the relay route marks those, and this middleware writes the rest.
 *
 * The worker cannot know whether anyone reads the log without asking the object, and a
 * refusal decided here must not wake it each time: lines are batched per imp and sent in
 * the background, the first at once and then at most one batch a second per imp and
 * isolate, at most 100 lines a batch (the rest are counted as dropped).
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ImpSession } from "../durable-objects/imp-session.ts";
import { ImpgateError } from "../edge/errors.ts";
import { canonicalPath } from "../protocol/index.ts";
import type { TailLine } from "../protocol/tail.ts";
import type { AgentEnv } from "./env.ts";
import { ask } from "./facade.ts";

const WINDOW_MS = 1_000;
const MAX_BATCH = 100;
/** Imps with a batch in this isolate; past this, the oldest is forgotten (its lines dropped). */
const MAX_IMPS = 1_000;

interface Batch {
  lines: TailLine[];
  dropped: number;
  lastFlush: number;
  scheduled: boolean;
}

const batches = new Map<string, Batch>();
const loggedByObject = new WeakSet<Context>();

/** The relay route: the imp's object logged this request, refused or not. */
export function loggedByImp(c: Context<AgentEnv>): void {
  loggedByObject.add(c);
}

/** After everything else on an agent URL whose id resolved: a refusal the object did not log becomes a line. */
export const tailRefusals: MiddlewareHandler<AgentEnv> = async (c, next) => {
  const at = Date.now();
  await next();
  if (c.res.status < 400 || loggedByObject.has(c)) return;
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
  enqueue((p) => c.executionCtx.waitUntil(p), agent.impId, agent.stub, line);
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

function enqueue(waitUntil: (p: Promise<unknown>) => void, impId: string, stub: DurableObjectStub<ImpSession>, line: TailLine): void {
  let batch = batches.get(impId);
  if (!batch) {
    if (batches.size >= MAX_IMPS) {
      const oldest = batches.keys().next().value;
      if (oldest !== undefined) batches.delete(oldest);
    }
    batch = { lines: [], dropped: 0, lastFlush: 0, scheduled: false };
    batches.set(impId, batch);
  }
  if (batch.lines.length < MAX_BATCH) batch.lines.push(line);
  else batch.dropped++;
  if (batch.scheduled) return;
  batch.scheduled = true;
  const b = batch;
  const wait = Math.max(0, b.lastFlush + WINDOW_MS - Date.now());
  waitUntil(
    new Promise((r) => setTimeout(r, wait))
      .then(async () => {
        const lines = b.lines.splice(0);
        const dropped = b.dropped;
        b.dropped = 0;
        b.scheduled = false;
        b.lastFlush = Date.now();
        await ask(stub.requestLog(), (log) => log.publish(lines, dropped));
      })
      .catch(() => {}),
  );
}
