/**
 * EdgeAudit: one Durable Object for the edge's own security events, those that belong to no
 * imp (failed admin authentication, console sign-ins, deleted imps, fleet-wide switches),
 * and the authoritative count of failed admin attempts per client. One object for the whole edge: its own class rather than a reserved
 * ImpSession name, so no imp code path (agent URLs, device sockets) can ever reach it, and
 * its storage holds nothing but this log. It is woken only by admin failures and by
 * `GET /admin/audit`, never on a caller's or a device's path.
 */
import { DurableObject } from "cloudflare:workers";
import { ADMIN_POLICY, RateGuard } from "../edge/auth/rate-guard.ts";
import { clientKey } from "../edge/client.ts";
import type { EdgeEnv } from "../edge/env.ts";
import { ok, type Result } from "../edge/errors.ts";
import type { AuditEntry, EdgeEvent } from "../protocol/admin-api.ts";
import { AuditLog } from "./audit-log.ts";

/** The one object's name. */
export const EDGE_AUDIT_NAME = "edge";

export class EdgeAudit extends DurableObject<EdgeEnv> {
  private readonly log: AuditLog;
  private readonly guard = new RateGuard(ADMIN_POLICY);

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.log = new AuditLog(ctx.storage.sql);
  }

  /** Records a failed admin authentication; answers how long this client must now wait (0: not yet). */
  async adminAuthFailed(client: string, detail: { reason: string; method: string; path: string }): Promise<Result<number>> {
    const { retryAfter, started } = this.guard.fail(clientKey(client));
    this.log.record("admin_auth_failed", client, detail);
    if (started) this.log.record("admin_rate_limited", client, { retryAfter });
    return ok(retryAfter);
  }

  /** An edge-wide event with who made it (`detail.by`) and from where. */
  async record(event: EdgeEvent, client: string, detail: AuditEntry["detail"]): Promise<Result<null>> {
    this.log.record(event, client, detail);
    return ok(null);
  }

  async auditLog(limit: number): Promise<Result<AuditEntry[]>> {
    return ok(this.log.list(limit));
  }
}
