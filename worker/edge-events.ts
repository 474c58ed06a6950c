/**
 * Writes to the edge's own audit log (durable-objects/edge-audit.ts) what the admin API and the
 * console did beyond one imp. A failure there is logged, and never hides or undoes the change.
 */
import { EDGE_AUDIT_NAME } from "../durable-objects/edge-audit.ts";
import { clientAddress } from "../edge/client.ts";
import type { Result } from "../edge/errors.ts";
import { log } from "../edge/log.ts";
import type { AuditEntry, EdgeEvent } from "../protocol/admin-api.ts";
import type { Env } from "./env.ts";

export async function recordEdgeEvent(
  env: Pick<Env, "EDGE_AUDIT">,
  request: Request,
  event: EdgeEvent,
  detail: AuditEntry["detail"],
  where: string,
): Promise<void> {
  const done = await env.EDGE_AUDIT.getByName(EDGE_AUDIT_NAME)
    .record(event, clientAddress(request), detail)
    .catch((err: unknown) => err);
  if (!(done as Result<null>)?.ok) log("error", where, "edge audit not written", done);
}
