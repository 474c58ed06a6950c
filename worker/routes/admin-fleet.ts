/**
 * The fleet, behind the admin API's own check (worker/routes/admin.ts mounts these):
 *   GET    /imps?online=&tag=&q=&cursor=&limit=   → a page of the registry (FleetPage)
 *   POST   /imps/<imp>/tags { add?, remove? }     → { impId, tags }
 *   POST   /imps/<imp>/disable { reason?, dropDevice? } / POST /imps/<imp>/enable → ImpSwitch
 *   DELETE /imps/<imp>                            → { impId, deleted: true }
 *   GET    /imps/<imp>/events?name=&limit=        → { latest, history }: the device's recent events
 *   POST   /fleet/disable { tag, reason?, dropDevice?, cursor? } / POST /fleet/enable { tag, cursor? }
 *                                                 → one batch (FleetSwitchBatch); repeat with its cursor
 *   POST   /fleet/reindex { cursor? }             → one batch (ReindexBatch); repeat with its cursor
 * Who made a change is what the `impgate-operator` header says (the CLI sends user@host, the
 * console its signed-in operator), recorded with the client's address.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { ImpSession } from "../../durable-objects/imp-session.ts";
import { clientAddress } from "../../edge/client.ts";
import { ImpgateError, orThrow, type Result } from "../../edge/errors.ts";
import type { EdgeEvent } from "../../protocol/admin-api.ts";
import {
  FLEET_PAGE_DEFAULT,
  FLEET_PAGE_MAX,
  type FleetSwitchBatch,
  MAX_TAGS,
  OPERATOR_HEADER,
  type ReindexBatch,
  TAG_PATTERN,
} from "../../protocol/fleet-api.ts";
import { recordEdgeEvent } from "../edge-events.ts";
import type { AppEnv } from "../env.ts";
import { ask } from "../facade.ts";
import { verifyImpId } from "../ids.ts";
import { forgetImp, idsByTag, indexPage, listImps } from "../registry-query.ts";
import { parseBody } from "./admin-input.ts";
import { present } from "./agent-events.ts";

export const fleetRoutes = new Hono<AppEnv>();

type FleetFacade = ReturnType<DurableObjectStub<ImpSession>["fleet"]>;

/** How many imps one fleet-wide batch touches (each is one call into its object). */
const BATCH = 50;

/** Who made a change, as the admin API was told: printable, at most 64 characters. */
export function operatorOf(c: Context<AppEnv>): string {
  const said = c.req.header(OPERATOR_HEADER)?.trim();
  return said && /^[\x20-\x7e]{1,64}$/.test(said) ? said : "admin API";
}

async function asFleet<T>(c: Context<AppEnv>, impId: string, use: (fleet: FleetFacade) => PromiseLike<Result<T>>): Promise<Result<T>> {
  return ask(c.env.IMP.getByName(impId).fleet(clientAddress(c.req.raw), operatorOf(c)), use);
}

async function impIdParam(c: Context<AppEnv>): Promise<string> {
  const impId = await verifyImpId(c.env.AGENT_ID_KEY, c.req.param("impId") ?? "");
  if (!impId) throw new ImpgateError("imp_not_found", "No such imp");
  return impId;
}

/** The edge's own audit log (the imp's is gone with it, for a deletion). */
function auditEdge(c: Context<AppEnv>, event: EdgeEvent, detail: Record<string, string | number | boolean>): Promise<void> {
  return recordEdgeEvent(c.env, c.req.raw, event, { by: operatorOf(c), ...detail }, `worker admin ${event}`);
}

const Tag = z.string().regex(TAG_PATTERN, "a tag is 1-32 lower-case letters, digits and _ . : - (a letter or digit first)");

const ListQuery = z.object({
  online: z.enum(["true", "false"]).optional(),
  tag: Tag.optional(),
  q: z.string().trim().max(100).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(FLEET_PAGE_MAX).default(FLEET_PAGE_DEFAULT),
});

fleetRoutes.get("/imps", async (c) => {
  const parsed = ListQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ImpgateError("bad_request", `${issue?.path.join(".")}: ${issue?.message}`);
  }
  const { online, ...rest } = parsed.data;
  return c.json(await listImps(c.env.REGISTRY, { ...rest, ...(online ? { online: online === "true" } : {}) }));
});

const Tags = z.strictObject({ add: z.array(Tag).max(MAX_TAGS).optional(), remove: z.array(Tag).max(MAX_TAGS).optional() });

fleetRoutes.post("/imps/:impId/tags", async (c) => {
  const impId = await impIdParam(c);
  const input = await parseBody(Tags, c.req.raw);
  const tags = orThrow(await asFleet(c, impId, (fleet) => fleet.changeTags(input)));
  return c.json({ impId, tags });
});

const Disable = z.strictObject({ reason: z.string().trim().min(1).max(200).optional(), dropDevice: z.boolean().optional() });

fleetRoutes.post("/imps/:impId/disable", async (c) => {
  const impId = await impIdParam(c);
  const input = await parseBody(Disable, c.req.raw);
  return c.json(orThrow(await asFleet(c, impId, (fleet) => fleet.disable(input))));
});

fleetRoutes.post("/imps/:impId/enable", async (c) => {
  const impId = await impIdParam(c);
  return c.json(orThrow(await asFleet(c, impId, (fleet) => fleet.enable())));
});

fleetRoutes.delete("/imps/:impId", async (c) => {
  const impId = await impIdParam(c);
  const deleted = await asFleet(c, impId, (fleet) => fleet.delete());
  if (!deleted.ok && deleted.code !== "imp_not_found") throw ImpgateError.from(deleted);
  // Also for an imp already gone: a row or index entry left by an earlier, interrupted delete goes now.
  await forgetImp(c.env.REGISTRY, impId);
  if (!deleted.ok) throw ImpgateError.from(deleted);
  await auditEdge(c, "imp_deleted", { impId });
  return c.json({ impId, deleted: true });
});

const EventsQuery = z.object({
  name: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

fleetRoutes.get("/imps/:impId/events", async (c) => {
  const impId = await impIdParam(c);
  const parsed = EventsQuery.safeParse(c.req.query());
  if (!parsed.success)
    throw new ImpgateError("bad_request", `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  const found = orThrow(await asFleet(c, impId, (fleet) => fleet.recentEvents(parsed.data)));
  return c.json({ latest: found.latest.map(present), history: found.history.map(present) });
});

const FleetSwitch = z.strictObject({
  tag: Tag,
  reason: z.string().trim().min(1).max(200).optional(),
  dropDevice: z.boolean().optional(),
  cursor: z.string().max(512).optional(),
});

async function fleetSwitch(c: Context<AppEnv>, on: boolean): Promise<Response> {
  const input = await parseBody(FleetSwitch, c.req.raw);
  if (on && (input.reason !== undefined || input.dropDevice !== undefined)) {
    throw new ImpgateError("bad_request", "reason and dropDevice are for disable");
  }
  const page = await idsByTag(c.env.REGISTRY, input.tag, input.cursor, BATCH);
  const batch: FleetSwitchBatch = { tag: input.tag, changed: [], failed: [], cursor: page.cursor };
  const settings = { reason: input.reason, dropDevice: input.dropDevice };
  const results = await Promise.all(
    page.ids.map((impId) => asFleet(c, impId, (fleet) => (on ? fleet.enable() : fleet.disable(settings))).catch(() => null)),
  );
  page.ids.forEach((impId, i) => {
    const result = results[i];
    if (result?.ok) batch.changed.push(impId);
    else batch.failed.push({ impId, code: result?.code ?? "internal" });
  });
  if (input.cursor === undefined) {
    await auditEdge(c, on ? "fleet_enabled" : "fleet_disabled", {
      tag: input.tag,
      reason: input.reason ?? "",
      dropDevice: input.dropDevice ?? false,
    });
  }
  return c.json(batch);
}

fleetRoutes.post("/fleet/disable", (c) => fleetSwitch(c, false));
fleetRoutes.post("/fleet/enable", (c) => fleetSwitch(c, true));

const Reindex = z.strictObject({ cursor: z.string().max(512).optional() });

/** One batch of the fleet index: each imp's object writes its row again; an imp that is gone loses its row. */
fleetRoutes.post("/fleet/reindex", async (c) => {
  const input = await parseBody(Reindex, c.req.raw);
  const page = await indexPage(c.env.REGISTRY, input.cursor, BATCH);
  const batch: ReindexBatch = { checked: page.ids.length, written: 0, removed: 0, cursor: page.cursor };
  await Promise.all(
    page.ids.map(async (impId) => {
      const result = await asFleet(c, impId, (fleet) => fleet.rewriteRow()).catch(() => null);
      if (result?.ok && result.value) batch.written++;
      else if (result && !result.ok && result.code === "imp_not_found") {
        await forgetImp(c.env.REGISTRY, impId);
        batch.removed++;
      }
    }),
  );
  if (input.cursor === undefined) await auditEdge(c, "fleet_reindexed", {});
  return c.json(batch);
});
