/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * The web console, `/console` on the console's own host (worker/origins.ts). A request reads
 * top to bottom:
 *   the console's headers (strict CSP, no framing, no Referer, no caching: ./headers.ts)
 *   → its hashed static files, or the sign-in page (./sign-in.tsx)
 *   → an operator: a live session (./session.ts), or Cloudflare Access's assertion (./access.ts)
 *   → every POST: from a console page, with the session's CSRF token (./csrf.ts)
 *   → the page or action, each through the admin API (./admin-call.ts).
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { clientAddress } from "../../edge/client.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { accessConfigured, accessOperator } from "./access.ts";
import { serveAsset } from "./assets.ts";
import type { ConsoleEnv } from "./context.ts";
import { fromConsolePage, sameToken } from "./csrf.ts";
import { FleetPageBody, filtersOf, fleetTable } from "./fleet-page.tsx";
import { consoleHeaders } from "./headers.ts";
import {
  ACTIONS,
  type Action,
  addCredential,
  changeTags,
  confirmPage,
  DONE,
  deployAgent,
  reveal,
  revokeCredential,
  rollbackAgent,
  runAction,
  showImp,
} from "./imp-actions.tsx";
import { impStatus } from "./imp-page.tsx";
import { Notice } from "./layout.tsx";
import { openLiveLog } from "./live-log.ts";
import { fragment, render } from "./render.tsx";
import { currentSession, startSession } from "./session.ts";
import { recordSignIn, revokeSession, sessionsPage, signIn, signInPage, signOut } from "./sign-in.tsx";

export const consoleRoutes = new Hono<ConsoleEnv>();

consoleRoutes.use(consoleHeaders);
consoleRoutes.get("/assets/:file", serveAsset);
// Forms: at most the largest agent module, twice over for its encoding, and a little more.
consoleRoutes.use(limitBody(600 * 1024) as unknown as MiddlewareHandler<ConsoleEnv>);
consoleRoutes.get("/sign-in", signInPage);
consoleRoutes.post("/sign-in", signIn);

function refused(c: Context<ConsoleEnv>, status: 401 | 403, text: string): Promise<Response> | Response {
  // htmx's polls: go to the sign-in page rather than swap a refusal into the page.
  if (c.req.header("hx-request")) return c.body(null, status, { "HX-Redirect": "/console/sign-in" });
  if (c.req.method === "GET" && status === 401) return c.redirect("/console/sign-in", 303);
  c.set("viaAccess", accessConfigured(c.env));
  return render(c, { title: "Refused", status, signedOut: true }, <Notice kind="error">{text}</Notice>);
}

/** Who is asking: Access's verified assertion when Access is configured, else the session's cookie. */
const requireOperator: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (accessConfigured(c.env)) {
    const who = await accessOperator(c.env, c.req.raw);
    if (!who) return refused(c, 403, "Cloudflare Access did not vouch for this request.");
    let session = await currentSession(c);
    // A session belongs to the identity Access vouched for when it began.
    if (!session || session.who !== who) {
      session = await startSession(c, who, clientAddress(c.req.raw));
      await recordSignIn(c, who);
    }
    c.set("session", session);
    c.set("viaAccess", true);
    return next();
  }
  const session = await currentSession(c);
  if (!session) return refused(c, 401, "Your session has ended: sign in again.");
  c.set("session", session);
  c.set("viaAccess", false);
  await next();
};

/** Every state change: from a page of the console, with this session's token. */
const requireCsrf: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD") return next();
  const body = await c.req.parseBody();
  if (!fromConsolePage(c) || !sameToken(body._csrf, c.var.session.csrf)) {
    return refused(c, 403, "Refused: this request did not come from a page of this console. Nothing was changed.");
  }
  await next();
};

consoleRoutes.use(requireOperator, requireCsrf);

consoleRoutes.get("/", async (c) => {
  const filters = filtersOf(c);
  const done = c.req.query("done") === "deleted" ? <Notice>Imp deleted.</Notice> : null;
  const table = await fleetTable(c, c.var.session.who, filters);
  return render(
    c,
    { title: "Fleet" },
    <>
      {done}
      <FleetPageBody filters={filters} table={table} />
    </>,
  );
});

consoleRoutes.get("/fleet-table", async (c) => fragment(c, await fleetTable(c, c.var.session.who, filtersOf(c))));

consoleRoutes.post("/sign-out", signOut);
consoleRoutes.get("/sessions", sessionsPage);
consoleRoutes.post("/sessions/revoke", revokeSession);

/** The imp named in the path, as the admin API spells it (it checks the id itself). */
const impOf = (c: Context<ConsoleEnv>) => encodeURIComponent(c.req.param("impId") ?? "");

consoleRoutes.get("/imps/:impId", async (c) => {
  const done = DONE[c.req.query("done") ?? ""];
  return showImp(c, impOf(c), done ? { notice: { text: done } } : {});
});
consoleRoutes.get("/imps/:impId/status", async (c) => fragment(c, await impStatus(c, c.var.session.who, impOf(c))));
consoleRoutes.get("/imps/:impId/tail", openLiveLog);

const isAction = (a: string | undefined): a is Action => ACTIONS.includes(a as Action);

consoleRoutes.get("/imps/:impId/confirm/:action", (c) => {
  const action = c.req.param("action");
  return isAction(action) ? confirmPage(c, impOf(c), action) : c.notFound();
});
consoleRoutes.post("/imps/:impId/reveal", (c) => reveal(c, impOf(c)));
consoleRoutes.post("/imps/:impId/tags", (c) => changeTags(c, impOf(c)));
consoleRoutes.post("/imps/:impId/credentials", (c) => addCredential(c, impOf(c)));
consoleRoutes.post("/imps/:impId/credentials/revoke", (c) => revokeCredential(c, impOf(c)));
consoleRoutes.post("/imps/:impId/agent", (c) => deployAgent(c, impOf(c)));
consoleRoutes.post("/imps/:impId/agent/rollback", (c) => rollbackAgent(c, impOf(c)));
// One route per action rather than `/imps/:impId/:action`: beside the routes above, that pattern
// would make Hono fall back from its RegExpRouter to the slower TrieRouter for every route of
// the worker, agent URLs included.
for (const action of ACTIONS) consoleRoutes.post(`/imps/:impId/${action}`, (c) => runAction(c, impOf(c), action));
