/**
 * The device link: one outbound websocket to the edge over pinned TLS, the handshake
 * (check the edge's signature with the pinned edge key, then prove the device key),
 * heartbeats, request and message dispatch, events, and reconnects with backoff.
 * Library entry: `connect()`.
 *
 * Each socket goes through its phases in order (attempt.phase): challenge → verifying
 * (the edge's proof) → hello (ours sent) → ready. Until that socket's edge proof verified
 * against the pinned edge key nothing is acted on: a request, a message, an ack or a
 * `ready` out of turn is an impostor (a server the TLS pins accept, without the edge
 * key) and closes the socket. Refusals that retrying cannot fix end the link (refusals.ts).
 */

import { webcrypto } from "node:crypto";
import { EventEmitter } from "node:events";
import { base64url, type CryptoKey, calculateJwkThumbprint, decodeProtectedHeader, type JWK } from "jose";
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
import { ConfigError, type DeviceConfig, loadConfig } from "./config.ts";
import { Heartbeat } from "./heartbeat.ts";
import { Inbox, type MessageHandler } from "./inbox.ts";
import { dropPreviousKey } from "./keys.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type EventData, Outbox } from "./outbox.ts";
import { pinnedTlsOptions } from "./pinned-tls.ts";
import { ProcessedMessages } from "./processed-messages.ts";
import { type AttemptPhase, classify, PermanentRefusal, RefusalTracker } from "./refusals.ts";
import { describeTlsFailure, isTlsVerifyError, offeredChain, trustedSummary } from "./tls-diagnosis.ts";

export const DAEMON_VERSION = "0.1.0";
export const DAEMON_AGENT = `impgate-device/${DAEMON_VERSION}`;
/** The edge must complete the handshake within this time, or the attempt is abandoned. */
const HANDSHAKE_DEADLINE_MS = 10_000;
const CLOSE_TIMEOUT_MS = 1_000;

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
  /**
   * The file the config came from: named in refusal messages, re-read when the edge
   * refuses every device key held (`impgate-device rekey` may have run since), and
   * rewritten to drop `previousDeviceKey` once the edge accepted the new key.
   */
  configFile?: string;
}

type DeviceKey = { jwk: JWK; key: CryptoKey; alg: string };
type Keys = { device: DeviceKey[]; edge: CryptoKey[]; edgeKids: string[] };

/** One connection attempt: its socket and how far its handshake got. */
interface Attempt {
  ws: WebSocket;
  cnonce: string;
  phase: AttemptPhase;
  /** The phase it was in when it was closed (the refusal's trust depends on it). */
  endedIn?: AttemptPhase;
  keyIndex: number;
  /** This device closed it (out-of-order frame, failed edge proof): the peer's close code means nothing. */
  closedByUs?: boolean;
  handshakeTimer?: NodeJS.Timeout;
  httpStatus?: number;
  edgeProof?: string;
  offeredKid?: string;
}

async function loadKeys(config: DeviceConfig): Promise<Keys> {
  const device = [config.deviceKey, ...(config.previousDeviceKey ? [config.previousDeviceKey] : [])] as JWK[];
  return {
    device: await Promise.all(device.map(async (jwk) => ({ jwk, key: await importSigningKey(jwk), alg: algorithmForJwk(jwk) }))),
    edge: await Promise.all(config.edgeKeys.map((k) => importVerifyKey(k))),
    edgeKids: await Promise.all(config.edgeKeys.map((k) => calculateJwkThumbprint(k as JWK))),
  };
}

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
  private readonly refusals = new RefusalTracker();
  private readonly log: Logger;
  private readonly options: LinkOptions;
  private keys: Promise<Keys>;
  /** Which device key the next attempt proves: 0 is the current one, 1 the one before a rekey. */
  private keyIndex = 0;
  private lastTlsReport = "";

  private config: DeviceConfig;
  private readonly handlers: Handlers;

  constructor(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}) {
    super();
    this.config = config;
    this.handlers = handlers;
    this.options = options;
    this.log = options.log ?? silentLogger;
    this.backoff = new Backoff(config.reconnect.baseMs, config.reconnect.maxMs);
    this.heartbeat = new Heartbeat(config.heartbeat, this.log);
    if (handlers.message && !config.stateDir) {
      throw new ConfigError("a message handler needs config.stateDir, where handled message ids are kept");
    }
    this.keys = loadKeys(config);
    // A bad key in the config is reported once, at the first challenge, not as an unhandled rejection.
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

  /** Resolves when the link is next authenticated and ready; rejects if it ends for good first. */
  waitReady(timeoutMs = 30_000): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.off("ready", onReady);
        this.off("fatal", done);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error("device link not ready in time")), timeoutMs);
      this.once("ready", onReady);
      this.once("fatal", done);
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
      this.inbox = new Inbox(store, handler, (id, expired) => this.sendAck(id, expired), this.log);
      return true;
    } catch (err) {
      this.log("error", "cannot open the device state", { error: (err as Error).message });
      this.fail(err as Error);
      return false;
    }
  }

  /** Ends the link for good: nothing will make another attempt succeed. */
  private fail(err: Error): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.emit("fatal", err);
  }

  private sendAck(id: string, expired?: boolean): void {
    if (this.isReady && this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(encodeFrame({ t: "ack", id, ...(expired ? { expired } : {}) }));
  }

  private open(): void {
    if (this.stopped) return;
    const cnonce = base64url.encode(webcrypto.getRandomValues(new Uint8Array(32)));
    const url = new URL(`/device/${encodeURIComponent(this.config.impId)}/connect`, this.config.edgeUrl);
    url.protocol = "wss:";
    url.searchParams.set("cnonce", cnonce);
    this.log("info", "connecting", { url: url.origin });

    const options: WebSocket.ClientOptions & { closeTimeout: number } = {
      // @types/ws declares checkServerIdentity as boolean-returning; ws hands it to tls.connect, which wants Error | undefined.
      ...(pinnedTlsOptions(this.config.tls) as unknown as WebSocket.ClientOptions),
      maxPayload: this.config.maxBodyBytes + 64 * 1024,
      handshakeTimeout: HANDSHAKE_DEADLINE_MS,
      perMessageDeflate: false,
      // Once close frames are exchanged, a server that keeps the TCP connection open does not delay the close (ws waits 30 s).
      closeTimeout: CLOSE_TIMEOUT_MS,
    };
    const ws = new WebSocket(url, options);
    this.ws = ws;
    const attempt: Attempt = { ws, cnonce, phase: "challenge", keyIndex: this.keyIndex };
    attempt.handshakeTimer = setTimeout(() => {
      this.log("warn", "handshake timed out");
      ws.terminate();
    }, HANDSHAKE_DEADLINE_MS);

    ws.on("unexpected-response", (_req, res) => {
      attempt.httpStatus = res.statusCode;
      this.log("warn", "edge refused the connection", { status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.on("message", (data, isBinary) => {
      if (attempt.phase === "closed") return;
      if (!isBinary) {
        if (attempt.phase !== "ready") this.outOfOrder(attempt, "text");
        else if (data.toString() === HEARTBEAT_PONG) this.heartbeat.onPong();
        return;
      }
      this.onFrame(attempt, data as Buffer).catch((err: unknown) => {
        this.log("error", "frame handling failed", { error: String(err) });
        this.closeAttempt(attempt, CloseCode.protocolError, "internal error");
      });
    });
    ws.on("error", (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt.httpStatus) return;
      this.log("warn", "link error", { error: err.message, code });
      if (isTlsVerifyError(code)) void this.reportTlsFailure(code ?? "", url);
    });
    ws.on("close", (code, reason) => {
      clearTimeout(attempt.handshakeTimer);
      attempt.endedIn ??= attempt.phase;
      attempt.phase = "closed";
      const wasReady = attempt.endedIn === "ready";
      if (this.ws === ws) {
        this.ws = null;
        this.isReady = false;
        this.heartbeat.stop();
        this.outbox.offline();
        this.inbox?.newLink();
      }
      const fields = { code, reason: reason.toString(), name: closeCodeName(code) };
      if (FATAL_CLOSE_CODES.has(code)) {
        this.log("error", "edge refused this device", fields);
        this.emit("refused", code, reason.toString());
      } else {
        this.log(wasReady ? "warn" : "info", "disconnected", fields);
      }
      this.emit("disconnect", code, reason.toString());
      this.afterClose(attempt, code).then(
        () => this.scheduleReconnect(),
        (err: unknown) => this.fail(err as Error),
      );
    });
  }

  /** Decides whether the attempt's end was a refusal to believe, and which device key to try next. */
  private async afterClose(attempt: Attempt, code: number): Promise<void> {
    if (attempt.endedIn === "ready") this.keyIndex = 0;
    const refusal = classify({
      phase: attempt.endedIn ?? "closed",
      code,
      closedByUs: attempt.closedByUs === true,
      httpStatus: attempt.httpStatus,
      edgeProof: attempt.edgeProof,
    });
    if (!refusal) {
      this.refusals.reset();
      return;
    }
    if (refusal.cause === "device_key_rejected" && (await this.tryAnotherDeviceKey())) return;
    if (!this.refusals.record(refusal.cause, refusal.trusted)) {
      this.log("warn", "refused; retrying in case the answer was not the edge's", { cause: refusal.cause });
      return;
    }
    const keys = await this.keys.catch(() => null);
    const permanent = new PermanentRefusal(refusal.cause, {
      impId: this.config.impId,
      edgeUrl: this.config.edgeUrl,
      configFile: this.options.configFile,
      pinnedKids: keys?.edgeKids,
      offeredKid: attempt.offeredKid,
    });
    this.log("error", permanent.message, { cause: permanent.cause, exitCode: permanent.exitCode });
    throw permanent;
  }

  /** The edge refused the device key just proved: the previous key, or a key changed on disk since, may do. */
  private async tryAnotherDeviceKey(): Promise<boolean> {
    const keys = await this.keys;
    if (this.keyIndex + 1 < keys.device.length) {
      this.keyIndex++;
      this.log("info", "the edge refused the new device key (replace-device has not run yet); connecting with the previous one");
      return true;
    }
    const file = this.options.configFile;
    if (!file) return false;
    const fresh = await loadConfig(file).catch(() => null);
    const xs = (c: DeviceConfig) => [c.deviceKey.x, c.previousDeviceKey?.x].join(" ");
    if (!fresh || xs(fresh) === xs(this.config)) return false;
    this.log("info", `the device key in ${file} changed; connecting with it`);
    this.config = { ...this.config, deviceKey: fresh.deviceKey, previousDeviceKey: fresh.previousDeviceKey };
    this.keys = loadKeys(this.config);
    this.keyIndex = 0;
    return true;
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.log("info", "reconnecting", { inMs: delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private closeAttempt(attempt: Attempt, code: number, reason: string): void {
    if (attempt.phase === "closed") return;
    attempt.endedIn = attempt.phase;
    attempt.phase = "closed";
    attempt.closedByUs = true;
    if (attempt.endedIn === "ready" && this.ws === attempt.ws) {
      // Nothing more goes out on this socket: no acks, no events.
      this.isReady = false;
      this.outbox.offline();
      this.heartbeat.stop();
    }
    attempt.ws.close(code, reason);
  }

  /** A frame this socket's phase does not allow: before the edge proof, the server is an impostor. */
  private outOfOrder(attempt: Attempt, what: string): void {
    const before = attempt.phase !== "ready";
    this.log(
      "error",
      before
        ? "impostor: the server sent a frame before proving the pinned edge key; link closed"
        : "the edge sent a frame out of order; link closed",
      { frame: what, phase: attempt.phase },
    );
    this.closeAttempt(attempt, CloseCode.protocolError, "unexpected frame");
  }

  private async onFrame(attempt: Attempt, data: Buffer): Promise<void> {
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (attempt.phase !== "ready") return this.outOfOrder(attempt, `malformed (${err.code})`);
      this.log("warn", "bad frame from edge", { code: err.code });
      return;
    }
    const { msg, payload } = frame;
    switch (attempt.phase) {
      case "challenge":
        return msg.t === "challenge" ? this.onChallenge(attempt, msg) : this.outOfOrder(attempt, msg.t);
      case "hello":
        return msg.t === "ready" && msg.impId === this.config.impId ? this.onReady(attempt) : this.outOfOrder(attempt, msg.t);
      case "ready":
        switch (msg.t) {
          case "req":
            void this.onRequest(attempt.ws, msg, payload);
            return;
          case "msg":
            return this.onMessage(msg, payload);
          case "ack":
            if (!this.outbox.acknowledged(msg.id)) this.log("debug", "ack for no pending event", { id: msg.id });
            return;
          case "error":
            if (msg.ref && this.outbox.refused(msg.ref, msg.code, msg.message)) {
              this.log("warn", "edge refused an event", { id: msg.ref, code: msg.code, message: msg.message });
            } else {
              this.log("warn", "edge reported an error", { code: msg.code, message: msg.message });
            }
            return;
          default:
            return this.outOfOrder(attempt, msg.t);
        }
      case "verifying":
        // Nothing may arrive while the device checks the edge's proof: the edge waits for our hello.
        return this.outOfOrder(attempt, msg.t);
      case "closed":
        return;
    }
  }

  private onReady(attempt: Attempt): void {
    attempt.phase = "ready";
    this.isReady = true;
    this.backoff.reset();
    this.refusals.reset();
    this.heartbeat.start(attempt.ws);
    this.inbox?.newLink();
    this.warnedNoHandler = false;
    clearTimeout(attempt.handshakeTimer);
    this.log("info", "ready", { impId: this.config.impId });
    this.outbox.online((frame) => attempt.ws.send(frame));
    this.emit("ready");
    void this.settleRekey(attempt.keyIndex);
  }

  /** After `impgate-device rekey`: say which key the edge took, and forget the old one once it took the new. */
  private async settleRekey(keyIndex: number): Promise<void> {
    const previous = this.config.previousDeviceKey;
    if (!previous) return;
    if (keyIndex > 0) {
      this.log("warn", "connected with the previous device key: the edge does not hold the new one yet", {
        next: `impgate imp replace-device ${this.config.impId} --public-key <the .pub.jwk that rekey wrote>`,
      });
      return;
    }
    this.config = { ...this.config, previousDeviceKey: undefined };
    this.keys = loadKeys(this.config);
    const file = this.options.configFile;
    const dropped = file ? await dropPreviousKey(file, previous).catch(() => false) : false;
    this.log("info", `the edge accepted the new device key${dropped ? `; the previous key was removed from ${file}` : ""}`);
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

  private async onChallenge(attempt: Attempt, msg: MessageOf<"challenge">): Promise<void> {
    attempt.phase = "verifying";
    let keys: Keys;
    try {
      keys = await this.keys;
    } catch (err) {
      this.log("error", "device or edge key in the config cannot be used", { error: String(err) });
      this.closeAttempt(attempt, 1000, "bad configuration");
      this.fail(new ConfigError(`device or edge key in the config cannot be used: ${String(err)}`));
      return;
    }
    try {
      // Authenticate the edge before signing anything: a rogue TLS endpoint gets nothing.
      await verifyEdgeProof(keys.edge, msg.proof, { impId: this.config.impId, nonce: msg.nonce, cnonce: attempt.cnonce });
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      attempt.edgeProof = err.reason;
      attempt.offeredKid = kidOf(msg.proof);
      this.log("error", "edge failed the pinned-key check", {
        reason: err.reason,
        ...(err.reason === "stale" ? { hint: "check this device's clock" } : { kid: attempt.offeredKid }),
      });
      this.closeAttempt(attempt, CloseCode.badEdgeProof, "edge proof failed");
      return;
    }
    // biome-ignore lint/style/noNonNullAssertion: keys.device always holds deviceKey; keyIndex only advances while another key remains
    const device = keys.device[attempt.keyIndex] ?? keys.device[0]!;
    const proof = await signDeviceProof(device.key, device.alg, { impId: this.config.impId, nonce: msg.nonce });
    // An out-of-order frame may have closed the socket while the proofs were checked and signed.
    if (attempt.phase !== "verifying" || attempt.ws.readyState !== WebSocket.OPEN) return;
    attempt.ws.send(encodeFrame({ t: "hello", proof, agent: DAEMON_AGENT, protocols: [PROTOCOL_VERSION] }));
    attempt.phase = "hello";
  }

  private async reportTlsFailure(code: string, url: URL): Promise<void> {
    const offered = await offeredChain(url);
    const line = describeTlsFailure(code, url, { trusted: trustedSummary(this.config.tls), offered });
    // Once per distinct failure: a daemon retrying for hours does not repeat the whole story.
    if (line === this.lastTlsReport) return;
    this.lastTlsReport = line;
    this.log("error", line, { code, offered: offered[0], trusted: trustedSummary(this.config.tls) });
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

/** The key id the server's handshake names, for the refusal message; never trusted for anything else. */
function kidOf(proof: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(proof).kid;
    return typeof kid === "string" ? kid.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** Library entry: connect this device to its edge and keep it connected. */
export function connect(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}): DeviceLink {
  return new DeviceLink(config, handlers, options).start();
}
