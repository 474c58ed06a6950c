/**
 * Opening an imp's live request log, the edge side of `impgate tail`. Every route that
 * offers the log calls the one function here, `openTailSocket(env, impId, request)`: the
 * admin API's `GET /admin/imps/<imp>/tail` (./routes/admin-tail.ts) and the web console's
 * live request log panel. It authenticates nobody: the route does that first (the admin
 * secret; the console's session). A route that authenticates with a cookie must also check
 * the request's `Origin`, since a browser sends cookies on a websocket any page opens.
 *
 * What the socket streams (protocol/tail.ts, with `parseTailFrame` to read it): one
 * `{"t":"hello","impId","window"}`, then `{"t":"line","seq","line"}` for every request to
 * the imp's agent URL (relayed or refused, the agent's APIs and `_auth` included), where a
 * line is `{ at, method, path, query, status, ms, cred, code? }`: the time, the method, the
 * canonical path after the agent id, whether there was a query (never its content), the
 * status, the latency, the credential id (or null) and a refusal's error code. Never a
 * header, token, signature, body, address or the agent id. A reader acknowledges with
 * `{"t":"ack","seq"}` as it reads (anything else closes the socket with 1008); with `window`
 * lines unacknowledged, the edge drops lines and later sends `{"t":"dropped","count"}`.
 * The imp's object accepts the socket with the hibernation API (durable-objects/facades/tail.ts),
 * so an imp with readers still sleeps when idle; `ping` is answered `pong` without waking it.
 */
import { TAIL_URL } from "../durable-objects/tail-log.ts";
import { ImpgateError } from "../edge/errors.ts";
import type { Env } from "./env.ts";
import { verifyImpId } from "./ids.ts";

/**
 * The response that upgrades `request` to a tail socket of imp `impId`: 426 without
 * `Upgrade: websocket`, 404 for an imp this edge never minted or no longer has, 429 when
 * the imp already has 8 readers. Refusals are answered, never thrown.
 *
 * @example
 * ```ts
 * app.get("/console/imps/:impId/tail", requireConsoleSession, (c) => openTailSocket(c.env, c.req.param("impId"), c.req.raw));
 * ```
 */
export async function openTailSocket(env: Env, impId: string, request: Request): Promise<Response> {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new ImpgateError("upgrade_required", "Expected a websocket upgrade", { headers: { Upgrade: "websocket" } }).response();
  }
  // No object is woken for an id this edge did not mint.
  if (!(await verifyImpId(env.AGENT_ID_KEY, impId))) return new ImpgateError("imp_not_found", "No such imp").response();
  // A request of the worker's own making: nothing the client sent (its credentials least of all) reaches the object.
  const res = await env.IMP.getByName(impId).fetch(new Request(TAIL_URL, { headers: { Upgrade: "websocket" } }));
  // A refusal from the object has immutable headers; copied, the app's middleware can add its own.
  return res.status === 101 ? res : new Response(res.body, res);
}
