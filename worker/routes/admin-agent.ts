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
import { type Context, Hono } from "hono";
import { z } from "zod";
import { MAX_AGENT_CODE_BYTES, MAX_OUTBOUND_HOSTS } from "../../durable-objects/agent-code.ts";
import { LOG_LINES_KEPT } from "../../durable-objects/agent-logs.ts";
import { ImpgateError, orThrow } from "../../edge/errors.ts";
import { clientAddress } from "../auth/refusals.ts";
import type { AppEnv } from "../env.ts";
import { limitBody } from "../middleware/body-limit.ts";
import { parseBody } from "./admin-input.ts";

export const agentAdminRoutes = new Hono<AppEnv>();

function session(c: Context<AppEnv>) {
  return c.env.IMP.getByName(c.req.param("impId") ?? "");
}

agentAdminRoutes.get("/", async (c) => {
  return c.json(orThrow(await session(c).agentInfo()));
});

const Deploy = z.strictObject({
  code: z.string().min(1, "empty module"),
  note: z.string().trim().max(200).optional(),
});

// JSON escaping can double the size of the code: the body may be up to twice the code limit, plus room for the note.
agentAdminRoutes.post("/", limitBody(2 * MAX_AGENT_CODE_BYTES + 4096), async (c) => {
  const input = await parseBody(Deploy, c.req.raw);
  const version = orThrow(await session(c).deployAgent({ code: input.code, note: input.note || null }, clientAddress(c.req.raw)));
  return c.json(version, 201);
});

agentAdminRoutes.get("/versions/:version", async (c) => {
  const version = Number(c.req.param("version"));
  if (!Number.isSafeInteger(version) || version < 1) throw new ImpgateError("bad_request", "version: a whole number");
  return c.json(orThrow(await session(c).agentSource(version)));
});

const Rollback = z.strictObject({ version: z.number().int().positive().optional() });

agentAdminRoutes.post("/rollback", async (c) => {
  const input = await parseBody(Rollback, c.req.raw);
  return c.json(orThrow(await session(c).rollbackAgent(input.version ?? null, clientAddress(c.req.raw))));
});

agentAdminRoutes.delete("/", async (c) => {
  const purge = c.req.query("purge") === "true";
  orThrow(await session(c).removeAgent(purge, clientAddress(c.req.raw)));
  return c.json({ active: null, purged: purge });
});

const Outbound = z.strictObject({ hosts: z.array(z.string().max(253)).max(MAX_OUTBOUND_HOSTS) });

agentAdminRoutes.put("/outbound", async (c) => {
  const input = await parseBody(Outbound, c.req.raw);
  return c.json({ outbound: orThrow(await session(c).setAgentOutbound(input.hosts, clientAddress(c.req.raw))) });
});

const LogsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(LOG_LINES_KEPT).default(100),
});

agentAdminRoutes.get("/logs", async (c) => {
  const parsed = LogsQuery.safeParse(c.req.query());
  if (!parsed.success)
    throw new ImpgateError("bad_request", `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return c.json(orThrow(await session(c).readAgentLogs(parsed.data)));
});
