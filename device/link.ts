/**
 * The device link: one outbound websocket to the edge over pinned TLS, the handshake
 * (check the edge's signature with the pinned edge key, then prove the device key),
 * heartbeats, request and message dispatch, events, and reconnects with backoff.
 * Library entry: `connect()`.
 */

import { webcrypto } from "node:crypto";
import { EventEmitter } from "node:events";
import { base64url, type CryptoKey } from "jose";
import WebSocket from "ws";
import {
  algorithmForJwk,
  CloseCode,
  closeCodeName,
  decodeFrame,
  encodeFrame,
  FATAL_CLOSE_CODES,
  HEARTBEAT_PONG,
  importSigningKey,
  importVerifyKey,
  type MessageOf,
  PROTOCOL_VERSION,
  ProofError,
  ProtocolError,
  signDeviceProof,
  verifyEdgeProof,
} from "../protocol/index.ts";
import { Backoff } from "./backoff.ts";
import { ConfigError, type DeviceConfig } from "./config.ts";
import { Heartbeat } from "./heartbeat.ts";
import { Inbox, type MessageHandler } from "./inbox.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type EventData, Outbox } from "./outbox.ts";
import { pinnedTlsOptions } from "./pinned-tls.ts";
import { ProcessedMessages } from "./processed-messages.ts";

export const DAEMON_AGENT = "impgate-device/0.1.0";
/** The edge must complete the handshake within this time, or the attempt is abandoned. */
const HANDSHAKE_DEADLINE_MS = 10_000;

export interface AgentRequest {
  id: string;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Uint8Array;
  /** Epoch ms after which the edge has already given up (504). */
  deadline: number;
}

export interface AgentReply {
  status: number;
  headers?: [string, string][] | Record<string, string>;
  body?: Uint8Array | string;
}

export interface Handlers {
  /** Answers an agent HTTP request. Without it every request gets 501. */
  request?: (req: AgentRequest) => AgentReply | Promise<AgentReply>;
  /**
   * Handles an agent message, once: it is acknowledged after this returns, and its id
   * is kept in `config.stateDir` so a restart does not run it again. Without it,
   * messages stay queued at the edge (until their TTL) for a daemon that has one.
   */
  message?: MessageHandler;
}

export interface LinkOptions {
  log?: Logger;
}

type Keys = { device: CryptoKey; alg: string; edge: CryptoKey[] };

export class DeviceLink extends EventEmitter {
  private ws: WebSocket | null = null;
  private stopped = false;
  private isReady = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: Heartbeat;
  private readonly outbox = new Outbox();
  private inbox: Inbox | null = null;
  private warnedNoHandler = false;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private keys: Promise<Keys>;

  private readonly config: DeviceConfig;
  private readonly handlers: Handlers;

  constructor(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}) {
    super();
    this.config = config;
    this.handlers = handlers;
    this.log = options.log ?? silentLogger;
    this.backoff = new Backoff(config.reconnect.baseMs, config.reconnect.maxMs);
    this.heartbeat = new Heartbeat(config.heartbeat, this.log);
    if (handlers.message && !config.stateDir) {
      throw new ConfigError("a message handler needs config.stateDir, where handled message ids are kept");
    }
    this.keys = (async () => ({
      device: await importSigningKey(config.deviceKey),
      alg: algorithmForJwk(config.deviceKey),
      edge: await Promise.all(config.edgeKeys.map((k) => importVerifyKey(k))),
    }))();
    // A bad key in the config is reported once, as an error event, not as an unhandled rejection.
    this.keys.catch(() => {});
  }

  get ready(): boolean {
    return this.isReady;
  }

  start(): this {
    void this.openInbox().then((ok) => {
      if (ok) this.open();
    });
    return this;
  }

  /**
   * Sends an event to the agent; resolves once the edge stored it. While offline it
   * waits in a bounded in-memory buffer (see outbox.ts).
   */
  send(name: string, data: EventData, options: { contentType?: string } = {}): Promise<void> {
    if (this.stopped) return Promise.reject(new Error("device link is closed"));
    return this.outbox.send(name, data, options.contentType);
  }

  /** Stops reconnecting and closes the link, after a running message handler finishes (10 s at most). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.outbox.close();
    if (this.inbox) await Promise.race([this.inbox.stop(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1000, "daemon stopping");
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  /** Loads the handled-message ids before the first connect; a damaged state file stops the daemon. */
  private async openInbox(): Promise<boolean> {
    const handler = this.handlers.message;
    const stateDir = this.config.stateDir;
    // The constructor refused a message handler without a stateDir.
    if (!handler || !stateDir) return true;
    try {
      const store = await ProcessedMessages.open(stateDir);
      this.inbox = new Inbox(store, handler, (id) => this.sendAck(id), this.log);
      return true;
    } catch (err) {
      this.stopped = true;
      this.log("error", "cannot open the device state", { error: (err as Error).message });
      this.emit("fatal", err);
      return false;
    }
  }

  private sendAck(id: string): void {
    if (this.isReady && this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeFrame({ t: "ack", id }));
  }

  /** Resolves when the link is next authenticated and ready. */
  waitReady(timeoutMs = 30_000): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("device link not ready in time")), timeoutMs);
      this.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private open(): void {
    if (this.stopped) return;
    const cnonce = base64url.encode(webcrypto.getRandomValues(new Uint8Array(32)));
    const url = new URL(`/device/${encodeURIComponent(this.config.impId)}/connect`, this.config.edgeUrl);
    url.protocol = "wss:";
    url.searchParams.set("cnonce", cnonce);
    this.log("info", "connecting", { url: url.origin });

    const ws = new WebSocket(url, {
      // @types/ws declares checkServerIdentity as boolean-returning; ws hands it to tls.connect, which wants Error | undefined.
      ...(pinnedTlsOptions(this.config.tls) as unknown as WebSocket.ClientOptions),
      maxPayload: this.config.maxBodyBytes + 64 * 1024,
      handshakeTimeout: HANDSHAKE_DEADLINE_MS,
      perMessageDeflate: false,
    });
    this.ws = ws;
    const handshakeTimer = setTimeout(() => {
      this.log("warn", "handshake timed out");
      ws.terminate();
    }, HANDSHAKE_DEADLINE_MS);

    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        if (data.toString() === HEARTBEAT_PONG) this.heartbeat.onPong();
        return;
      }
      this.onFrame(ws, data as Buffer, cnonce).then(
        (ready) => {
          if (ready) clearTimeout(handshakeTimer);
        },
        (err: unknown) => {
          this.log("error", "frame handling failed", { error: String(err) });
          ws.close(CloseCode.protocolError, "internal error");
        },
      );
    });
    ws.on("error", (err) => {
      this.log("warn", "link error", { error: err.message, code: (err as NodeJS.ErrnoException).code });
    });
    ws.on("close", (code, reason) => {
      clearTimeout(handshakeTimer);
      this.heartbeat.stop();
      const wasReady = this.isReady;
      this.isReady = false;
      this.outbox.offline();
      this.inbox?.newLink();
      if (this.ws === ws) this.ws = null;
      const fields = { code, reason: reason.toString(), name: closeCodeName(code) };
      if (FATAL_CLOSE_CODES.has(code)) {
        this.log("error", "edge refused this device", fields);
        this.emit("refused", code, reason.toString());
      } else {
        this.log(wasReady ? "warn" : "info", "disconnected", fields);
      }
      this.emit("disconnect", code, reason.toString());
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.log("info", "reconnecting", { inMs: delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Returns true once the link became ready with this frame. */
  private async onFrame(ws: WebSocket, data: Buffer, cnonce: string): Promise<boolean> {
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.log("warn", "bad frame from edge", { code: err.code });
      return false;
    }
    const { msg, payload } = frame;
    switch (msg.t) {
      case "challenge":
        await this.onChallenge(ws, msg, cnonce);
        return false;
      case "ready":
        this.isReady = true;
        this.backoff.reset();
        this.heartbeat.start(ws);
        this.inbox?.newLink();
        this.warnedNoHandler = false;
        this.log("info", "ready", { impId: msg.impId });
        this.outbox.online((frame) => ws.send(frame));
        this.emit("ready");
        return true;
      case "req":
        if (this.isReady) void this.onRequest(ws, msg, payload);
        return false;
      case "msg":
        if (this.isReady) this.onMessage(msg, payload);
        return false;
      case "ack":
        if (!this.outbox.acknowledged(msg.id)) this.log("debug", "ack for no pending event", { id: msg.id });
        return false;
      case "error":
        if (msg.ref && this.outbox.refused(msg.ref, msg.code, msg.message)) {
          this.log("warn", "edge refused an event", { id: msg.ref, code: msg.code, message: msg.message });
        } else {
          this.log("warn", "edge reported an error", { code: msg.code, message: msg.message });
        }
        return false;
      default:
        this.log("debug", "ignored message", { t: msg.t });
        return false;
    }
  }

  private onMessage(msg: MessageOf<"msg">, data: Uint8Array): void {
    if (this.inbox) {
      this.inbox.receive(msg, data);
      return;
    }
    if (!this.warnedNoHandler) {
      this.warnedNoHandler = true;
      this.log("warn", "agent message arrived but this device has no message handler; it stays queued at the edge", { name: msg.name });
    }
  }

  private async onChallenge(ws: WebSocket, msg: MessageOf<"challenge">, cnonce: string): Promise<void> {
    let keys: Keys;
    try {
      keys = await this.keys;
    } catch (err) {
      this.log("error", "device or edge key in the config cannot be used", { error: String(err) });
      this.stopped = true;
      ws.close(1000, "bad configuration");
      return;
    }
    try {
      // Authenticate the edge before signing anything: a rogue TLS endpoint gets nothing.
      await verifyEdgeProof(keys.edge, msg.proof, { impId: this.config.impId, nonce: msg.nonce, cnonce });
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      this.log("error", "edge failed the pinned-key check", { reason: err.reason });
      ws.close(CloseCode.badEdgeProof, "edge proof failed");
      return;
    }
    const proof = await signDeviceProof(keys.device, keys.alg, { impId: this.config.impId, nonce: msg.nonce });
    ws.send(encodeFrame({ t: "hello", proof, agent: DAEMON_AGENT, protocols: [PROTOCOL_VERSION] }));
  }

  private async onRequest(ws: WebSocket, msg: MessageOf<"req">, body: Uint8Array): Promise<void> {
    const started = Date.now();
    let reply: AgentReply;
    try {
      reply = this.handlers.request
        ? await this.handlers.request({
            id: msg.id,
            method: msg.method,
            path: msg.path,
            query: msg.query,
            headers: msg.headers,
            body,
            deadline: msg.deadline,
          })
        : { status: 501, body: "no request handler on this device" };
    } catch (err) {
      this.log("error", "request handler failed", { id: msg.id, error: String(err) });
      reply = { status: 500, headers: { "content-type": "text/plain" }, body: "device handler error" };
    }
    const headers = Array.isArray(reply.headers) ? reply.headers : Object.entries(reply.headers ?? {});
    const payload = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : (reply.body ?? new Uint8Array(0));
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({ t: "res", id: msg.id, status: reply.status, headers }, payload));
    this.log("debug", "request", { id: msg.id, method: msg.method, path: msg.path, status: reply.status, ms: Date.now() - started });
  }
}

/** Library entry: connect this device to its edge and keep it connected. */
export function connect(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}): DeviceLink {
  return new DeviceLink(config, handlers, options).start();
}
