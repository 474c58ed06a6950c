/**
 * The admin API's view of one imp (worker/routes/admin*.ts): its record and settings,
 * caller credentials, device key, audit log and agent code. Every change is audited with
 * the admin client's address. Each method needs the imp to exist (but `provision`, which
 * needs it not to), checked in one place.
 */
import { RpcTarget } from "cloudflare:workers";
import type { JWK } from "jose";
import { DONE, type Failure, fail, ok, type Result } from "../../edge/errors.ts";
import {
  type AgentInfo,
  type AgentVersion,
  type AuditEntry,
  type CredentialView,
  DEFAULT_PRESENCE_TIMEOUT_S,
  type ImpStatus,
  type LogPage,
  type UpdateImpRequest,
} from "../../protocol/admin-api.ts";
import { CloseCode, DEFAULT_HEARTBEAT } from "../../protocol/index.ts";
import { fingerprint } from "../../protocol/sealed/statement.ts";
import { type Credential, view } from "../credentials.ts";
import { type CredentialChanges, updateCredential } from "../credentials-update.ts";
import { closeQuietly, DEVICE_TAG, type ReadyLink, readLink } from "../device-link.ts";
import { E2E_CONFLICT, e2eMode } from "../e2e-policy.ts";
import type { ImpParts } from "../imp-parts.ts";
import type { ImpRecord } from "../imp-record.ts";
import { DEFAULT_QUEUE_LIMIT } from "../message-queue.ts";

export interface ProvisionInput {
  impId: string;
  label: string;
  devicePublicJwk: JWK;
  urlSecret: string;
}

/** `PATCH /admin/imps/<imp>`: null puts a setting back to the edge's default. */
export type ImpSettings = UpdateImpRequest;

/** The status, and the URL secret the worker turns into the current agent URL for the admin. */
export type AdminStatus = ImpStatus & { urlSecret: string };

const IMP_NOT_FOUND: Failure = fail("imp_not_found", "No such imp");

export class ImpAdmin extends RpcTarget {
  readonly #parts: ImpParts;
  readonly #client: string;

  /** `client`: the admin client's address, for the audit log. */
  constructor(parts: ImpParts, client: string) {
    super();
    this.#parts = parts;
    this.#client = client;
  }

  /** Runs `work` on the imp's record, if the imp exists. */
  async #withImp<T>(work: (imp: ImpRecord) => Result<T> | Promise<Result<T>>): Promise<Result<T>> {
    const imp = await this.#parts.record.get();
    return imp ? work(imp) : IMP_NOT_FOUND;
  }

  async provision(input: ProvisionInput): Promise<Result<null>> {
    if (await this.#parts.record.get()) return fail("imp_exists", "This imp is already provisioned");
    await this.#parts.record.put({ ...input, createdAt: Date.now(), authEpoch: 0, allowHttp: false, public: false, publicApis: false });
    this.#parts.registry.changed();
    return DONE;
  }

  status(): Promise<Result<AdminStatus>> {
    return this.#withImp(async (imp) => {
      const { ctx, queue, agentCode } = this.#parts;
      const ws = await this.#parts.presence.live();
      const link = ws ? (readLink(ws) as ReadyLink) : null;
      const live = ws && link ? { link, heartbeatAt: ctx.getWebSocketAutoResponseTimestamp(ws) } : null;
      const backlog = queue.backlog(Date.now());
      return ok({
        impId: imp.impId,
        label: imp.label,
        createdAt: imp.createdAt,
        ...(await this.#parts.deviceStatus.read(live)),
        deviceKey: imp.devicePublicJwk !== null,
        allowHttp: imp.allowHttp,
        public: imp.public,
        publicApis: imp.publicApis,
        requestTimeoutMs: this.#parts.requestTimeout(imp),
        presenceTimeoutS: imp.presenceTimeoutS ?? DEFAULT_PRESENCE_TIMEOUT_S,
        queueLimit: imp.queueLimit ?? DEFAULT_QUEUE_LIMIT,
        queuedMessages: backlog.queued,
        oldestQueuedAt: backlog.oldestAt,
        agentVersion: agentCode.activeVersion(),
        tags: imp.tags ?? [],
        disabled: imp.disabled
          ? { at: imp.disabled.at, by: imp.disabled.by, reason: imp.disabled.reason, dropDevice: imp.disabled.dropDevice }
          : null,
        cspSandbox: imp.cspSandbox === true,
        e2e: e2eMode(imp),
        deviceFingerprint: imp.devicePublicJwk ? await fingerprint(imp.devicePublicJwk) : null,
        sealedKey: await this.#parts.sealedKeys.info(imp),
        urlSecret: imp.urlSecret,
      });
    });
  }

  configure(settings: ImpSettings): Promise<Result<AdminStatus>> {
    return this.#withImp(async (imp) => {
      if (settings.e2e === "required" && this.#parts.agentCode.activeVersion() !== null) return E2E_CONFLICT;
      if (settings.presenceTimeoutS) {
        const refused = await this.#checkPresenceTimeout(settings.presenceTimeoutS);
        if (refused) return refused;
      }
      const next: ImpRecord = { ...imp };
      if (settings.e2e !== undefined) next.e2e = settings.e2e;
      if (settings.presenceTimeoutS !== undefined) next.presenceTimeoutS = settings.presenceTimeoutS ?? undefined;
      if (settings.requestTimeoutMs !== undefined) next.requestTimeoutMs = settings.requestTimeoutMs ?? undefined;
      if (settings.allowHttp !== undefined) next.allowHttp = settings.allowHttp;
      if (settings.public !== undefined) next.public = settings.public;
      if (settings.publicApis !== undefined) next.publicApis = settings.publicApis;
      if (settings.queueLimit !== undefined) next.queueLimit = settings.queueLimit ?? undefined;
      if (settings.label !== undefined) next.label = settings.label;
      if (settings.cspSandbox !== undefined) next.cspSandbox = settings.cspSandbox;
      await this.#parts.record.put(next);
      if (settings.presenceTimeoutS !== undefined) await this.#parts.presence.timeoutChanged(next);
      if (next.label !== imp.label) this.#parts.registry.changed();
      const changed = Object.fromEntries(
        Object.entries(settings)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, v ?? "default"]),
      );
      this.#parts.audit.record("settings_changed", this.#client, changed as Record<string, string | number | boolean>);
      return this.status();
    });
  }

  /** A presence timeout must leave room for two heartbeats of the device (the one it announced, else the default). */
  async #checkPresenceTimeout(seconds: number): Promise<Failure | null> {
    const ws = this.#parts.liveSocket();
    const link = ws ? readLink(ws) : null;
    const announced = (link?.state === "ready" ? link.heartbeatMs : undefined) ?? (await this.#parts.deviceStatus.lastHeartbeatMs());
    const heartbeatS = (announced ?? DEFAULT_HEARTBEAT.intervalMs) / 1000;
    if (seconds >= 2 * heartbeatS) return null;
    return fail(
      "bad_request",
      `presence timeout ${seconds} s is too short: at least ${Math.ceil(2 * heartbeatS)} s, twice the device's heartbeat interval (${heartbeatS} s), or 0 to turn presence checks off`,
    );
  }

  /** A new agent URL: the old one is dead at once, and so is every token minted for it. */
  rotateUrl(urlSecret: string): Promise<Result<null>> {
    return this.#withImp(async (imp) => {
      await this.#parts.record.put({ ...imp, urlSecret, authEpoch: imp.authEpoch + 1 });
      this.#parts.audit.record("url_rotated", this.#client, { epoch: imp.authEpoch + 1 });
      return DONE;
    });
  }

  /** Replaces (or, with null, revokes) the device key; a socket that proved the old key is closed at once. */
  setDeviceKey(jwk: JWK | null): Promise<Result<null>> {
    return this.#withImp(async (imp) => {
      await this.#parts.record.put({ ...imp, devicePublicJwk: jwk });
      const why = jwk ? "device key replaced" : "device key revoked";
      for (const ws of this.#parts.ctx.getWebSockets(DEVICE_TAG)) {
        await this.#parts.presence.wentOffline(ws, "revoked", Date.now(), why);
        // A socket still in its handshake was never online: it is only closed.
        closeQuietly(ws, CloseCode.deviceRevoked, why);
      }
      this.#parts.audit.record("device_key_changed", this.#client, { action: jwk ? "replaced" : "revoked" });
      return DONE;
    });
  }

  addCredential(cred: Credential): Promise<Result<CredentialView>> {
    return this.#withImp(async () => {
      const { creds, audit } = this.#parts;
      if (await creds.get(cred.id)) return fail("credential_exists", "This key is already a credential of this imp");
      await creds.put(cred);
      audit.record("credential_added", this.#client, { credId: cred.id, kind: cred.kind, scope: view(cred).scope.join(", ") });
      return ok(view(cred));
    });
  }

  listCredentials(): Promise<Result<CredentialView[]>> {
    return this.#withImp(async () => ok((await this.#parts.creds.all()).map(view).sort((a, b) => a.createdAt - b.createdAt)));
  }

  /** `impgate cred set`: ./credentials-update.ts. */
  updateCredential(id: string, changes: CredentialChanges): Promise<Result<CredentialView>> {
    return this.#withImp(() => updateCredential(this.#parts, this.#client, id, changes));
  }

  revokeCredential(id: string): Promise<Result<CredentialView>> {
    return this.#withImp(async () => {
      const cred = await this.#parts.creds.get(id);
      if (!cred) return fail("credential_not_found", "No such credential");
      if (cred.revokedAt) return ok(view(cred));
      const revoked = { ...cred, revokedAt: Date.now() };
      await this.#parts.creds.put(revoked);
      this.#parts.audit.record("credential_revoked", this.#client, { credId: id, kind: cred.kind });
      return ok(view(revoked));
    });
  }

  auditLog(limit: number): Promise<Result<AuditEntry[]>> {
    return this.#withImp(() => ok(this.#parts.audit.list(limit)));
  }

  // ---- agent code (worker/routes/admin-agent.ts) ----

  agentInfo(): Promise<Result<AgentInfo>> {
    return this.#withImp(() => ok(this.#parts.deploys.info()));
  }

  agentSource(version: number): Promise<Result<AgentVersion & { code: string }>> {
    return this.#withImp(() => {
      const found = this.#parts.agentCode.get(version);
      return found ? ok(found) : fail("version_not_found", `Version ${version} is not stored`);
    });
  }

  deployAgent(input: { code: string; note: string | null }): Promise<Result<AgentVersion>> {
    return this.#withImp(async (imp) =>
      e2eMode(imp) === "required" ? E2E_CONFLICT : this.#registered(await this.#parts.deploys.deploy(input, this.#client)),
    );
  }

  rollbackAgent(version: number | null): Promise<Result<AgentVersion>> {
    return this.#withImp(async (imp) =>
      e2eMode(imp) === "required" ? E2E_CONFLICT : this.#registered(await this.#parts.deploys.rollback(version, this.#client)),
    );
  }

  removeAgent(purge: boolean): Promise<Result<null>> {
    return this.#withImp(() => {
      this.#parts.deploys.remove(purge, this.#client);
      return this.#registered(DONE);
    });
  }

  /** The agent version is in the fleet registry's row: a change that took effect is written there. */
  #registered<T>(result: Result<T>): Result<T> {
    if (result.ok) this.#parts.registry.changed();
    return result;
  }

  setAgentOutbound(hosts: string[]): Promise<Result<string[]>> {
    return this.#withImp(() => this.#parts.deploys.setOutbound(hosts, this.#client));
  }

  readAgentLogs(query: { after?: number; limit: number }): Promise<Result<LogPage>> {
    return this.#withImp(() => ok(this.#parts.agentLogs.read(query)));
  }
}
