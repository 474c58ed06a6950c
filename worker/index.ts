/**
 * impgate's edge. A request reads top to bottom:
 *   security headers → origin (the console's host serves /console and /admin only, every
 *   other host agent URLs and device links: worker/origins.ts) → HTTPS only (agent URLs apply
 *   their own rule: worker/auth/caller.ts) → route (agent / device / admin / console)
 *   → caller authentication → the imp's Durable Object.
 */
import { Hono } from "hono";
import { consoleRoutes } from "./console/routes.tsx";
import type { AppEnv } from "./env.ts";
import { notFound, onError } from "./errors.ts";
import { httpsOnly } from "./middleware/https-only.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { originRule } from "./origins.ts";
import { adminRoutes } from "./routes/admin.ts";
import { agentRoutes, routedPath } from "./routes/agent.ts";
import { deviceRoutes } from "./routes/device.ts";

const app = new Hono<AppEnv>({ getPath: routedPath });

app.use(securityHeaders);
app.use(originRule);
app.use("*", async (c, next) => {
  // Everything but agent URLs is HTTPS only, unconditionally.
  if (!c.req.path.startsWith("/agent/")) return httpsOnly(c, next);
  await next();
});
app.route("/agent", agentRoutes);
app.route("/device", deviceRoutes);
app.route("/admin", adminRoutes);
app.route("/console", consoleRoutes);
app.notFound(() => notFound());
app.onError(onError);

export default app;
export { EdgeAudit } from "../durable-objects/edge-audit.ts";
export { ImpSession } from "../durable-objects/imp-session.ts";
// What agent code is handed (worker/agent-api.ts); reachable only through ctx.exports.
export { AgentApi, OutboundGate } from "./agent-api.ts";
