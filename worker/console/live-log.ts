/**
 * The console's side of an imp's live request log: `GET /console/imps/<imp>/tail`, the
 * websocket the imp page's script reads (worker/console/assets/console.js.txt), opened with
 * the edge's one function for it (worker/tail-socket.ts). The operator's session is checked
 * before this, like on every console route (./routes.tsx). A browser sends the console's
 * cookie on a websocket any page opens, so only a page of the console's own origin may open
 * it: a device's page (on the agents' origin) or any other site gets 403 and no socket.
 */
import type { Context } from "hono";
import { openTailSocket } from "../tail-socket.ts";
import type { ConsoleEnv } from "./context.ts";

export function openLiveLog(c: Context<ConsoleEnv>): Promise<Response> | Response {
  if (c.req.header("origin") !== new URL(c.req.url).origin)
    return c.text("Only a page of this console may open its live request log.", 403);
  return openTailSocket(c.env, c.req.param("impId") ?? "", c.req.raw);
}
