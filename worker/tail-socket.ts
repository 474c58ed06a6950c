/**
 * Opening an imp's live request log: a websocket to the imp's object, which accepts it with
 * the hibernation API (durable-objects/facades/tail.ts; what comes down it:
 * protocol/tail.ts). Its own module so that every route that offers the log (the admin
 * API's `GET /admin/imps/<imp>/tail`, the web console) opens it the same way, each
 * behind its own authentication: this function authenticates nobody.
 *
 * A route that authenticates with a cookie must also check the request's `Origin`: a
 * browser sends cookies on a websocket any page opens.
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
