/**
 * ImpSession: one Durable Object per imp. It holds the device's websocket (hibernation
 * API only, so an idle imp costs nothing), authenticates the device, and turns agent
 * requests into request frames whose replies it correlates.
 *
 * Hibernation handlers only decode and dispatch to the on* methods below.
 */
import { DurableObject } from "cloudflare:workers";
import { base64url, type JWK } from "jose";
import {
  CloseCode, HEARTBEAT_PING, HEARTBEAT_PONG, PROTOCOL_VERSION, ProtocolError, ProofError,
  decodeFrame, encodeFrame, importVerifyKey, signEdgeProof, verifyDeviceProof,
  type Message, type MessageOf,
} from "../protocol/index.ts";
import type { Env } from "../worker/env.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS, intVar } from "../worker/env.ts";
import { edgeKey } from "../worker/edge-key.ts";
import { clientAddress } from "../worker/auth/refusals.ts";
import { ImpStore, type ImpRecord } from "./imp-record.ts";
import type { ImpStatus } from "./imp-status.ts";
import type { AgentCall, Refusal } from "./agent-call.ts";
import { AuditLog, type AuditEntry } from "./audit-log.ts";
import { CallerCheck } from "./caller-check.ts";
import { CredentialStore, view, type AuthFailure, type Credential, type CredentialView } from "./credentials.ts";
import { ReplayMemory } from "./replay-memory.ts";
import type { FailureEntry } from "../worker/auth/failure-audit.ts";
import { DEVICE_TAG, HANDSHAKE_TIMEOUT_MS, closeQuietly, readLink, sendQuietly, writeLink } from "./device-link.ts";
import { PendingRequests } from "./pending-requests.ts";

/** An agent HTTP request as the worker hands it over. */
export interface AgentRequest {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Uint8Array;
}

export type { AgentCall } from "./agent-call.ts";
export type { ImpStatus } from "./imp-status.ts";

export type AgentResult =
  | { kind: "reply"; status: number; headers: [string, string][]; body: Uint8Array }
  | Refusal
  | { kind: "offline" }
  | { kind: "timeout" }
  | { kind: "device_gone" };

export interface ProvisionInput {
  impId: string;
  label: string;
  devicePublicJwk: JWK;
  urlSecret: string;
}

export interface ImpSettings {
  requestTimeoutMs?: number | null;
  allowHttp?: boolean;
  public?: boolean;
}

export class ImpSession extends DurableObject<Env> {
  private readonly imp: ImpStore;
  private readonly pending = new PendingRequests();
  private readonly creds: CredentialStore;
  private readonly audit: AuditLog;
  private readonly callers: CallerCheck;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.imp = new ImpStore(ctx.storage);
    this.creds = new CredentialStore(ctx.storage);
    this.audit = new AuditLog(ctx.storage.sql);
    this.callers = new CallerCheck(this.creds, new ReplayMemory(ctx.storage.sql), this.audit);
    // Heartbeats are answered by the runtime itself and never wake this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
  }

  // ---- admin (RPC from the worker) ----

  async provision(input: ProvisionInput): Promise<void> {
    if (await this.imp.get()) throw new Error("imp already provisioned");
    await this.imp.put({ ...input, createdAt: Date.now(), authEpoch: 0, allowHttp: false, public: false });
  }

  async status(): Promise<ImpStatus | null> {
    const imp = await this.imp.get();
    if (!imp) return null;
    const live = this.liveSocket();
    const link = live ? readLink(live) : null;
    return {
      impId: imp.impId,
      label: imp.label,
      createdAt: imp.createdAt,
      online: live !== null,
      connectedSince: link?.state === "ready" ? link.readyAt : null,
      deviceAgent: link?.state === "ready" ? link.agent : null,
      deviceKey: imp.devicePublicJwk !== null,
      allowHttp: imp.allowHttp,
      public: imp.public,
      requestTimeoutMs: imp.requestTimeoutMs ?? null,
    };
  }

  async configure(settings: ImpSettings, client: string): Promise<ImpStatus | null> {
    const imp = await this.imp.get();
    if (!imp) return null;
    const next: ImpRecord = { ...imp };
    if (settings.requestTimeoutMs !== undefined) next.requestTimeoutMs = settings.requestTimeoutMs ?? undefined;
    if (settings.allowHttp !== undefined) next.allowHttp = settings.allowHttp;
    if (settings.public !== undefined) next.public = settings.public;
    await this.imp.put(next);
    const changed = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v ?? "default"]));
    this.audit.record("settings_changed", client, changed as Record<string, string | number | boolean>);
    return this.status();
  }

  /** A new agent URL: the old one is dead at once, and so is every token minted for it. */
  async rotateUrl(urlSecret: string, client: string): Promise<boolean> {
    const imp = await this.imp.get();
    if (!imp) return false;
    await this.imp.put({ ...imp, urlSecret, authEpoch: imp.authEpoch + 1 });
    this.audit.record("url_rotated", client, { epoch: imp.authEpoch + 1 });
    return true;
  }

  async addCredential(cred: Credential, client: string): Promise<CredentialView | null> {
    if (!(await this.imp.get())) return null;
    if (await this.creds.get(cred.id)) throw new Error("credential exists");
    await this.creds.put(cred);
    this.audit.record("credential_added", client, { credId: cred.id, kind: cred.kind });
    return view(cred);
  }

  async listCredentials(): Promise<CredentialView[] | null> {
    if (!(await this.imp.get())) return null;
    return (await this.creds.all()).map(view).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeCredential(id: string, client: string): Promise<CredentialView | null> {
    const cred = await this.creds.get(id);
    if (!cred) return null;
    if (!cred.revokedAt) {
      await this.creds.put({ ...cred, revokedAt: Date.now() });
      this.audit.record("credential_revoked", client, { credId: id, kind: cred.kind });
    }
    return view((await this.creds.get(id))!);
  }

  async auditLog(limit: number): Promise<AuditEntry[] | null> {
    if (!(await this.imp.get())) return null;
    return this.audit.list(limit);
  }

  /** Replaces (or, with null, revokes) the device key; a socket that proved the old key is closed at once. */
  async setDeviceKey(jwk: JWK | null, client: string): Promise<boolean> {
    const imp = await this.imp.get();
    if (!imp) return false;
    await this.imp.put({ ...imp, devicePublicJwk: jwk });
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      this.pending.failSocket(ws);
      closeQuietly(ws, CloseCode.deviceRevoked, jwk ? "device key replaced" : "device key revoked");
    }
    this.audit.record("device_key_changed", client, { action: jwk ? "replaced" : "revoked" });
    return true;
  }

  // ---- caller authentication (RPC from the worker) ----

  /** Whether `call` uses the imp's current agent URL (challenges for rotated URLs get the same 404). */
  async isCurrent(call: AgentCall): Promise<boolean> {
    return (await this.currentImp(call)) !== null;
  }

  async exchangeAssertion(call: AgentCall, input: { assertion: string; credId: string; nonce: string; nonceExpiresAt: number }) {
    const imp = await this.currentImp(call);
    if (!imp) return { kind: "not_found" } as const;
    return this.callers.exchange(imp, call, await edgeKey(this.env.EDGE_SIGNING_JWK), input);
  }

  /** Plain HTTP reached this agent: allowed only if the operator opted in; otherwise audited, and what was sent is burned. */
  async plainHttp(call: AgentCall, body: Uint8Array, nonce?: string): Promise<"allow" | "refuse"> {
    const imp = await this.currentImp(call);
    if (!imp) return "refuse";
    if (imp.allowHttp) return "allow";
    this.audit.record("http_refused", call.client, { credential: call.caller.kind });
    await this.callers.burn(call, body, nonce);
    return "refuse";
  }

  /** Failures the worker refused by itself, batched; each is audited and counted toward rate limits. */
  async recordAuthFailures(call: AgentCall, entries: FailureEntry[], dropped: number): Promise<void> {
    // Batched, so the URL may have rotated since: the worker's MAC check already tied these to this imp.
    if (!(await this.imp.get())) return;
    for (const e of entries.slice(0, 50)) this.callers.recordFailure({ ...call, client: e.client }, e.reason, e.at);
    if (dropped > 0) this.audit.record("auth_failed", call.client, { reason: "more refused in the worker", count: dropped });
  }

  // ---- agent requests (RPC from the worker) ----

  async agentRequest(call: AgentCall, req: AgentRequest): Promise<AgentResult> {
    const imp = await this.currentImp(call);
    if (!imp) return { kind: "not_found" };
    const verdict = await this.callers.authorize(imp, call, req.body);
    if (verdict.kind !== "ok") return verdict;
    const ws = this.liveSocket();
    if (!ws) return { kind: "offline" };

    const timeoutMs = imp.requestTimeoutMs ?? intVar(this.env.REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS);
    const id = crypto.randomUUID();
    const frame = encodeFrame(
      { t: "req", id, method: req.method, path: req.path, query: req.query, headers: req.headers, deadline: Date.now() + timeoutMs },
      req.body,
    );
    const outcome = this.pending.wait(id, ws, timeoutMs);
    if (!sendQuietly(ws, frame)) this.pending.failSocket(ws);
    const result = await outcome;
    if (result.kind !== "reply") return result;
    return { kind: "reply", status: result.msg.status, headers: result.msg.headers, body: result.body };
  }

  /** The imp, if the call came through its current agent URL; rotated ids get the same null as unknown ones. */
  private async currentImp(call: AgentCall): Promise<ImpRecord | null> {
    const imp = await this.imp.get();
    if (!imp) return null;
    const a = new TextEncoder().encode(imp.urlSecret);
    const b = new TextEncoder().encode(call.urlSecret);
    return a.length === b.length && crypto.subtle.timingSafeEqual(a, b) ? imp : null;
  }

  // ---- device link ----

  /** The worker forwards `GET /device/<impId>/connect` (Upgrade: websocket) here. */
  async fetch(request: Request): Promise<Response> {
    const cnonce = new URL(request.url).searchParams.get("cnonce") ?? "";
    if (!/^[A-Za-z0-9_-]{22,128}$/.test(cnonce)) {
      return Response.json({ error: { code: "bad_request", message: "cnonce query parameter required (22-128 base64url chars)" } }, { status: 400 });
    }
    const imp = await this.imp.get();
    const address = clientAddress(request);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [DEVICE_TAG]);

    if (!imp?.devicePublicJwk) {
      if (imp) this.audit.record("device_refused", address, { reason: "device key revoked" });
      closeQuietly(server, CloseCode.deviceRevoked, "unknown imp or revoked device key");
      return new Response(null, { status: 101, webSocket: client });
    }
    const nonce = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const openedAt = Date.now();
    writeLink(server, { state: "pending", nonce, cnonce, openedAt, client: address });
    const key = await edgeKey(this.env.EDGE_SIGNING_JWK);
    const proof = await signEdgeProof(key.privateKey, key.alg, { impId: imp.impId, nonce, cnonce }, key.kid);
    server.send(encodeFrame({ t: "challenge", nonce, proof }));
    await this.scheduleAlarm(openedAt + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const link = readLink(ws);
    if (!link) return closeQuietly(ws, CloseCode.protocolError, "unknown socket");
    let msg: Message;
    let payload: Uint8Array;
    try {
      ({ msg, payload } = decodeFrame(data));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return this.onProtocolError(ws, link.state, err);
    }
    try {
      if (link.state === "pending") {
        if (msg.t !== "hello") return closeQuietly(ws, CloseCode.protocolError, "expected hello");
        return await this.onDeviceHello(ws, link, msg);
      }
      switch (msg.t) {
        case "res":
          this.onDeviceReply(msg, payload);
          return;
        default:
          sendQuietly(ws, encodeFrame({ t: "error", code: "unexpected", message: `unexpected message "${msg.t}"` }));
      }
    } catch (err) {
      console.error(`ImpSession:${this.ctx.id.name ?? this.ctx.id} webSocketMessage`, err);
      closeQuietly(ws, 1011, "internal error");
    }
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.onDeviceGone(ws);
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.onDeviceGone(ws);
  }

  /** Closes sockets that have not authenticated in time. */
  async alarm(): Promise<void> {
    const now = Date.now();
    let next = Infinity;
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      const link = readLink(ws);
      if (link?.state !== "pending") continue;
      const due = link.openedAt + HANDSHAKE_TIMEOUT_MS;
      if (due <= now) {
        this.audit.record("device_refused", link.client, { reason: "handshake timeout" });
        closeQuietly(ws, CloseCode.handshakeTimeout, "handshake timeout");
      }
      else next = Math.min(next, due);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
  }

  private async onDeviceHello(ws: WebSocket, link: Extract<ReturnType<typeof readLink>, { state: "pending" }>, msg: MessageOf<"hello">): Promise<void> {
    if (!msg.protocols.includes(PROTOCOL_VERSION)) {
      return closeQuietly(ws, CloseCode.unsupportedVersion, `edge speaks protocol ${PROTOCOL_VERSION}`);
    }
    const imp = await this.imp.get();
    if (!imp?.devicePublicJwk) {
      this.audit.record("device_refused", link.client, { reason: "device key revoked" });
      return closeQuietly(ws, CloseCode.deviceRevoked, "device key revoked");
    }
    // The nonce is single-use: whatever the outcome, this socket cannot answer it again.
    writeLink(ws, { ...link, nonce: "" });
    try {
      await verifyDeviceProof(await importVerifyKey(imp.devicePublicJwk), msg.proof, { impId: imp.impId, nonce: link.nonce });
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      const code = {
        bad_signature: CloseCode.badDeviceProof,
        malformed: CloseCode.badDeviceProof,
        wrong_imp: CloseCode.wrongImp,
        stale: CloseCode.staleNonce,
        nonce_mismatch: CloseCode.staleNonce,
      }[err.reason];
      this.audit.record("device_refused", link.client, { reason: err.reason, code });
      return closeQuietly(ws, code, err.message);
    }
    if (!link.nonce) {
      this.audit.record("device_refused", link.client, { reason: "nonce already used" });
      return closeQuietly(ws, CloseCode.staleNonce, "nonce already used");
    }
    const now = Date.now();
    writeLink(ws, { state: "ready", openedAt: link.openedAt, readyAt: now, agent: msg.agent, client: link.client });
    this.audit.record("device_connected", link.client, { agent: msg.agent.slice(0, 64) });
    // One device connection per imp: a newer authenticated one replaces the rest.
    for (const other of this.ctx.getWebSockets(DEVICE_TAG)) {
      if (other !== ws && readLink(other)?.state === "ready") {
        this.pending.failSocket(other);
        closeQuietly(other, CloseCode.replaced, "replaced by a newer connection");
      }
    }
    sendQuietly(ws, encodeFrame({ t: "ready", impId: imp.impId }));
  }

  private onDeviceReply(msg: MessageOf<"res">, body: Uint8Array): void {
    // A reply nobody waits for (late after a 504, or made up) is dropped.
    this.pending.reply(msg.id, msg, body);
  }

  private onDeviceGone(ws: WebSocket): void {
    this.pending.failSocket(ws);
  }

  private onProtocolError(ws: WebSocket, state: "pending" | "ready", err: ProtocolError): void {
    if (state === "pending") return closeQuietly(ws, CloseCode.protocolError, err.message);
    sendQuietly(ws, encodeFrame({ t: "error", code: err.code, message: err.message }));
  }

  /** The authenticated device socket, if the device is online. */
  private liveSocket(): WebSocket | null {
    for (const ws of this.ctx.getWebSockets(DEVICE_TAG)) {
      if (readLink(ws)?.state === "ready" && ws.readyState === WebSocket.READY_STATE_OPEN) return ws;
    }
    return null;
  }

  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
