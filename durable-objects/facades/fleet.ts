/**
 * The fleet's view of one imp (worker/routes/admin-fleet.ts): its tags, the kill switch,
 * deleting it, and rewriting its registry row. Like ./admin.ts, every change is audited with
 * the admin client's address, and here also with who made it (`by`: what the admin API was
 * told in its `impgate-operator` header, or the console's signed-in operator).
 */
import { RpcTarget } from "cloudflare:workers";
import { DONE, type Failure, fail, ok, type Result } from "../../edge/errors.ts";
import { type DisableRequest, type ImpSwitch, MAX_TAGS, type TagChange } from "../../protocol/fleet-api.ts";
import { CloseCode } from "../../protocol/index.ts";
import { closeQuietly, DEVICE_TAG } from "../device-link.ts";
import type { StoredEvent } from "../event-store.ts";
import type { ImpParts } from "../imp-parts.ts";
import type { ImpDisabled, ImpRecord } from "../imp-record.ts";
import { deliverQueued } from "../message-delivery.ts";

const IMP_NOT_FOUND: Failure = fail("imp_not_found", "No such imp");

function switchView(impId: string, disabled: ImpDisabled | null | undefined): ImpSwitch {
  return {
    impId,
    disabled: Boolean(disabled),
    disabledAt: disabled?.at ?? null,
    disabledBy: disabled?.by ?? null,
    disabledReason: disabled?.reason ?? null,
    dropDevice: disabled?.dropDevice ?? false,
  };
}

export class ImpFleet extends RpcTarget {
  readonly #parts: ImpParts;
  readonly #client: string;
  readonly #by: string;

  constructor(parts: ImpParts, client: string, by: string) {
    super();
    this.#parts = parts;
    this.#client = client;
    this.#by = by;
  }

  async #withImp<T>(work: (imp: ImpRecord) => Result<T> | Promise<Result<T>>): Promise<Result<T>> {
    const imp = await this.#parts.record.get();
    return imp ? work(imp) : IMP_NOT_FOUND;
  }

  /** The kill switch's state. */
  switchState(): Promise<Result<ImpSwitch>> {
    return this.#withImp((imp) => ok(switchView(imp.impId, imp.disabled)));
  }

  /** Adds and removes tags (already checked by the worker); answers the imp's tags. */
  changeTags(change: TagChange): Promise<Result<string[]>> {
    return this.#withImp(async (imp) => {
      const remove = new Set(change.remove ?? []);
      const tags = [...new Set([...(imp.tags ?? []), ...(change.add ?? [])])].filter((t) => !remove.has(t)).sort();
      if (tags.length > MAX_TAGS) return fail("too_many_tags", `An imp has at most ${MAX_TAGS} tags`);
      if (tags.join(" ") === (imp.tags ?? []).join(" ")) return ok(tags);
      await this.#parts.record.put({ ...imp, tags });
      this.#parts.audit.record("tags_changed", this.#client, { by: this.#by, tags: tags.join(" ") || "none" });
      this.#parts.registry.changed();
      return ok(tags);
    });
  }

  /**
   * Disables the imp: from the next request on, every caller of its agent URL gets 423 and
   * nothing reaches the device or the agent code; queued messages wait. The device's socket
   * stays up (so enabling it again needs no visit) unless `dropDevice`.
   */
  disable(input: DisableRequest): Promise<Result<ImpSwitch>> {
    return this.#withImp(async (imp) => {
      const disabled: ImpDisabled = {
        at: Date.now(),
        by: this.#by,
        client: this.#client,
        reason: input.reason ?? null,
        dropDevice: input.dropDevice === true,
      };
      await this.#parts.record.put({ ...imp, disabled });
      this.#parts.audit.record("imp_disabled", this.#client, {
        by: this.#by,
        reason: disabled.reason ?? "",
        dropDevice: disabled.dropDevice,
      });
      if (disabled.dropDevice) {
        for (const ws of this.#parts.ctx.getWebSockets(DEVICE_TAG)) {
          // Offline now (status, audit, agent hooks, waiting requests), then closed with the code the daemon retries after.
          await this.#parts.presence.wentOffline(ws, "closed");
          this.#parts.pending.failSocket(ws);
          closeQuietly(ws, CloseCode.disabled, "imp disabled");
        }
      }
      this.#parts.registry.changed();
      return ok(switchView(imp.impId, disabled));
    });
  }

  /** Enables the imp again: callers are let in, and what was queued goes to the device. */
  enable(): Promise<Result<ImpSwitch>> {
    return this.#withImp(async (imp) => {
      if (!imp.disabled) return ok(switchView(imp.impId, null));
      await this.#parts.record.put({ ...imp, disabled: null });
      this.#parts.audit.record("imp_enabled", this.#client, { by: this.#by });
      this.#parts.registry.changed();
      const ws = this.#parts.liveSocket();
      if (ws) deliverQueued(this.#parts.queue, ws);
      return ok(switchView(imp.impId, null));
    });
  }

  /**
   * Deletes the imp: its device's socket is closed (as for a revoked key), its alarm and all
   * of its storage are dropped. Its agent URL then gets the same 404 as an id that never
   * existed. The worker removes its registry row and records the deletion edge-wide.
   */
  delete(): Promise<Result<null>> {
    return this.#withImp(async () => {
      const { ctx, pending, registry, record } = this.#parts;
      for (const ws of ctx.getWebSockets()) {
        pending.failSocket(ws);
        closeQuietly(ws, CloseCode.deviceRevoked, "imp deleted");
      }
      // A registry write still under way must not bring the row back after the worker removes it.
      await registry.stop();
      this.#parts.deleted = true;
      await ctx.storage.deleteAlarm();
      await ctx.storage.deleteAll();
      record.forget();
      return DONE;
    });
  }

  /** For the console: the latest event of each name, and the recent history of one name (or of all). */
  recentEvents(query: { name?: string; limit: number }): Promise<Result<{ latest: StoredEvent[]; history: StoredEvent[] }>> {
    return this.#withImp(() => {
      const { events } = this.#parts;
      return ok({ latest: events.latest(), history: events.read({ name: query.name, limit: query.limit }) });
    });
  }

  /** `impgate fleet reindex`: this imp's registry row written again from its object, now. */
  rewriteRow(): Promise<Result<boolean>> {
    return this.#withImp(async () => ok(await this.#parts.registry.rewrite()));
  }
}
