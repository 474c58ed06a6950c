/**
 * Agent code, per imp: `/admin/imps/<imp>/agent`. Behind the admin API's own check.
 *   GET    /agent                    → { active, versions, outbound, limits }
 *   POST   /agent { code, note? }    → 201 the new, active version (400 with the runtime's message if it does not load)
 *   GET    /agent/versions/<v>       → that version with its code
 *   POST   /agent/rollback { version? } → the version now active (default: the one before)
 *   DELETE /agent[?purge=true]       → tunnel mode again
 *   PUT    /agent/outbound { hosts } → the hosts agent code may reach over HTTPS
 *   GET    /agent/logs[?after=C][&limit=N] → { entries, cursor }
 */
import { Hono } from "hono";
import { z } from "zod";
import { MAX_AGENT_CODE_BYTES, MAX_OUTBOUND_HOSTS } from "../../durable-objects/agent-code.ts";
import { LOG_LINES_KEPT } from "../../durable-objects/agent-logs.ts";
import { ImpgateError } from "../../edge/errors.ts";
import type { AppEnv } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { asAdmin, parseBody } from "./admin-input.ts";

export const agentAdminRoutes = new Hono<AppEnv>();

agentAdminRoutes.get("/", async (c) => {
  return c.json(await asAdmin(c, (imp) => imp.agentInfo()));
});

const Deploy = z.strictObject({
  code: z.string().min(1, "empty module"),
  note: z.string().trim().max(200).optional(),
});

// JSON escaping can double the size of the code: the body may be up to twice the code limit, plus room for the note.
agentAdminRoutes.post("/", limitBody(2 * MAX_AGENT_CODE_BYTES + 4096), async (c) => {
  const input = await parseBody(Deploy, c.req.raw);
  const version = await asAdmin(c, (imp) => imp.deployAgent({ code: input.code, note: input.note || null }));
  return c.json(version, 201);
});

agentAdminRoutes.get("/versions/:version", async (c) => {
  const version = Number(c.req.param("version"));
  if (!Number.isSafeInteger(version) || version < 1) throw new ImpgateError("bad_request", "version: a whole number");
  return c.json(await asAdmin(c, (imp) => imp.agentSource(version)));
});

const Rollback = z.strictObject({ version: z.number().int().positive().optional() });

agentAdminRoutes.post("/rollback", async (c) => {
  const input = await parseBody(Rollback, c.req.raw);
  return c.json(await asAdmin(c, (imp) => imp.rollbackAgent(input.version ?? null)));
});

agentAdminRoutes.delete("/", async (c) => {
  const purge = c.req.query("purge") === "true";
  await asAdmin(c, (imp) => imp.removeAgent(purge));
  return c.json({ active: null, purged: purge });
});

const Outbound = z.strictObject({ hosts: z.array(z.string().max(253)).max(MAX_OUTBOUND_HOSTS) });

agentAdminRoutes.put("/outbound", async (c) => {
  const input = await parseBody(Outbound, c.req.raw);
  return c.json({ outbound: await asAdmin(c, (imp) => imp.setAgentOutbound(input.hosts)) });
});

const LogsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(LOG_LINES_KEPT).default(100),
});

agentAdminRoutes.get("/logs", async (c) => {
  const parsed = LogsQuery.safeParse(c.req.query());
  if (!parsed.success)
    throw new ImpgateError("bad_request", `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return c.json(await asAdmin(c, (imp) => imp.readAgentLogs(parsed.data)));
});
