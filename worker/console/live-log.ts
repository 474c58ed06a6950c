/**
 * The console's side of an imp's live request log: `GET /console/imps/<imp>/tail`, a
 * websocket the imp page's script reads (worker/console/assets/console.js.txt). A browser
 * sends the console's cookie on a websocket any page opens (SameSite rules aside), so only a
 * page of the console's own origin may open it; the operator is checked before this, like
 * every console route (./routes.tsx).
 *
 * The log itself is the edge's tail socket (issue 11, `impgate tail`). This edge has none
 * yet: the route answers 404, and the imp page says the live log is not available rather
 * than open a socket that cannot succeed.
 */
import type { Context } from "hono";
import type { ConsoleEnv } from "./context.ts";

/** Whether this edge has a live request log to show (the imp page opens its socket only then). */
export const LIVE_LOG = false;

export function openLiveLog(c: Context<ConsoleEnv>): Response {
  if (c.req.header("origin") !== new URL(c.req.url).origin)
    return c.text("Only a page of this console may open its live request log.", 403);
  return c.text("This edge has no live request log.", 404);
}
