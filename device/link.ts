/**
 * The device link: keeps one authenticated connection to the edge (link-socket.ts: pinned
 * TLS and the handshake) and reconnects with backoff (link-retry.ts); dispatches agent
 * requests (link-frames.ts) and messages, sends events, heartbeats. A refusal that retrying
 * cannot fix ends it (refusals.ts): `fatal` is emitted with a PermanentRefusal. Library
 * entry: `connect()`.
 */

import { EventEmitter } from "node:events";
import { closeCodeName, encodeFrame, FATAL_CLOSE_CODES, type MessageOf } from "../protocol/index.ts";
import { SEALED_MEDIA_TYPES, SEALED_NAME } from "../protocol/sealed/media-types.ts";
import { ConfigError, type DeviceConfig } from "./config.ts";
import { Heartbeat } from "./heartbeat.ts";
import { Inbox } from "./inbox.ts";
import { KeyRing } from "./key-ring.ts";
import { answerFrames } from "./link-frames.ts";
import { DAEMON_AGENT, type Handlers, type LinkOptions } from "./link-options.ts";
import { LinkRetry } from "./link-retry.ts";
import { LinkSocket } from "./link-socket.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type EventData, EventError, Outbox } from "./outbox.ts";
import { ProcessedMessages } from "./processed-messages.ts";
import type { AttemptEnd } from "./refusals.ts";
import { publishStatements, sealDeviceEvent } from "./sealed-outgoing.ts";
import { refuseSealedMessages, SealedTraffic } from "./sealed-traffic.ts";

/**
 * One device's link to its edge, kept up with reconnects and heartbeats; made by
 * `connect`. Emits `ready` (authenticated), `disconnect` (code, reason), `refused` (code,
 * reason) and `fatal` (it stopped for good: a PermanentRefusal from the edge, or a
 * ConfigError for keys the config holds but cannot be used).
 *
 * @example
 * ```ts
 * import { connect, ExitCode, PermanentRefusal } from "impgate/device/index.ts";
 * const link = connect(config, handlers);
 * link.on("ready", () => console.log("online"));
 * link.on("fatal", (err) => process.exit(err instanceof PermanentRefusal ? err.exitCode : ExitCode.usage));
 * await link.send("temperature", { c: 21.5 }); // resolves once the edge stored it
 * await link.close();
 * ```
 */
export class DeviceLink extends EventEmitter {
  private socket: LinkSocket | null = null;
  private stopped = false;
  private readonly heartbeat: Heartbeat;
  private readonly outbox = new Outbox();
  private inbox: Inbox | null = null;
  private warnedNoHandler = false;
  private readonly retry: LinkRetry;
  private readonly keyRing: KeyRing;
  private readonly log: Logger;
  /** End-to-end sealing (config `e2e`): opened before the first connect; null without it. */
  private sealed: SealedTraffic | null = null;
  private readonly sealedReady: Promise<SealedTraffic | null>;
  private stopPublishing: (() => void) | null = null;

  private readonly config: DeviceConfig;
  private readonly handlers: Handlers;

  constructor(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}) {
    super();
    this.config = config;
    this.handlers = handlers;
    this.log = options.log ?? silentLogger;
    this.heartbeat = new Heartbeat(config.heartbeat, this.log);
    if (handlers.message && !config.stateDir) {
      throw new ConfigError("a message handler needs config.stateDir, where handled message ids are kept");
    }
    this.keyRing = new KeyRing(config, this.log, options.configFile);
    this.retry = new LinkRetry(config, this.keyRing, this.log, options.configFile);
    this.sealedReady = SealedTraffic.open(config, this.log);
    // Failures are reported by start(); a link never started must not leave this rejection unhandled.
    this.sealedReady.catch(() => {});
  }

  get ready(): boolean {
    return this.socket?.isReady === true;
  }

  start(): this {
    void this.openSealed()
      .then((ok) => ok && this.openInbox())
      .then((ok) => {
        if (ok) this.open();
      });
    return this;
  }

  /**
   * Sends an event to the agent; resolves once the edge stored it. While offline it
   * waits in a bounded in-memory buffer (see outbox.ts).
   */
  send(name: string, data: EventData, options: { contentType?: string } = {}): Promise<void> {
    if (this.stopped) return Promise.reject(new EventError("closed", "device link is closed"));
    // Known from the config at once: no event goes out in the clear while the keys are still loading.
    if (this.config.e2e?.recipients.length) {
      return this.sealedReady.then(async (sealed) => {
        if (!sealed) throw new EventError("closed", "the sealed keys could not be opened");
        return this.outbox.send(SEALED_NAME, await sealDeviceEvent(sealed, name, data, options.contentType), SEALED_MEDIA_TYPES.event);
      });
    }
    return this.outbox.send(name, data, options.contentType);
  }

  /** Stops reconnecting and closes the link, after a running message handler finishes (10 s at most). */
  async close(): Promise<void> {
    this.stopped = true;
    this.retry.cancel();
    this.stopPublishing?.();
    this.outbox.close();
    if (this.inbox) await Promise.race([this.inbox.stop(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    const ws = this.socket?.ws;
    if (!ws || ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      this.socket?.close(1000, "daemon stopping");
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  /** Resolves when the link is next authenticated and ready; rejects if it ends for good first. */
  waitReady(timeoutMs = 30_000): Promise<void> {
    if (this.ready) return Promise.resolve();
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

  /** The sealed keys and replay memories (config `e2e`) before the first connect; a damaged file stops the daemon. */
  private async openSealed(): Promise<boolean> {
    try {
      this.sealed = await this.sealedReady;
      return true;
    } catch (err) {
      this.log("error", "cannot open the sealed keys or replay memory", { error: (err as Error).message });
      this.fail(err as Error);
      return false;
    }
  }

  /** Loads the handled-message ids before the first connect; a damaged state file stops the daemon. */
  private async openInbox(): Promise<boolean> {
    const base = this.handlers.message;
    const stateDir = this.config.stateDir;
    // The constructor refused a message handler without a stateDir.
    if (!base || !stateDir) return true;
    // Sealed messages are opened before the handler sees them (and plaintext refused unless allowed).
    const handler = this.sealed ? this.sealed.messageHandler(base) : refuseSealedMessages(base);
    try {
      const store = await ProcessedMessages.open(stateDir);
      this.inbox = new Inbox(
        store,
        handler,
        (id, expired) => this.sendAck(id, expired),
        this.log,
        () => this.linkAlive(),
      );
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
    this.retry.cancel();
    this.emit("fatal", err);
  }

  /** Whether the current link is ready and its heartbeat says the edge is still there. */
  private linkAlive(): boolean {
    return this.socket?.isReady === true && this.heartbeat.alive();
  }

  private sendAck(id: string, expired?: boolean): void {
    this.socket?.send(encodeFrame({ t: "ack", id, ...(expired ? { expired } : {}) }));
  }

  private open(): void {
    if (this.stopped) return;
    const socket: LinkSocket = new LinkSocket({
      config: this.config,
      keys: this.keyRing.keys(),
      keyIndex: this.keyRing.next,
      agent: DAEMON_AGENT,
      log: this.log,
      events: {
        ready: () => this.onReady(socket),
        // The sealing is open before the first attempt and never changes.
        ...answerFrames({ send: (f) => socket.send(f), sealed: this.sealed, handlers: this.handlers, outbox: this.outbox, log: this.log }),
        message: (msg, data) => this.onMessage(msg, data),
        pong: () => this.heartbeat.onPong(),
        alive: () => this.heartbeat.alive(),
        badKeys: (err) => {
          this.log("error", "device or edge key in the config cannot be used", { error: String(err) });
          this.fail(new ConfigError(`device or edge key in the config cannot be used: ${String(err)}`));
        },
        tlsFailure: (code, url) => void this.retry.reportTlsFailure(code, url),
        closed: (end) => this.onClosed(socket, end),
      },
    });
    this.socket = socket;
  }

  private onReady(socket: LinkSocket): void {
    this.retry.reset();
    this.heartbeat.start(socket);
    this.inbox?.newLink();
    this.warnedNoHandler = false;
    this.log("info", "ready", { impId: this.config.impId });
    this.outbox.online((frame) => socket.send(frame));
    // The edge serves the key statement to callers: now, and again whenever it changes.
    this.stopPublishing?.();
    if (this.sealed) this.stopPublishing = publishStatements(this.sealed, (statement) => socket.send(encodeFrame({ t: "key", statement })));
    this.emit("ready");
    void this.keyRing.accepted(socket.keyIndex);
  }

  private onClosed(socket: LinkSocket, end: AttemptEnd & { reason: string; offeredKid?: string }): void {
    if (this.socket === socket) {
      this.socket = null;
      this.stopPublishing?.();
      this.stopPublishing = null;
      this.heartbeat.stop();
      this.outbox.offline();
      this.inbox?.newLink();
    }
    const fields = { code: end.code, reason: end.reason, name: closeCodeName(end.code) };
    if (FATAL_CLOSE_CODES.has(end.code)) {
      this.log("error", "edge refused this device", fields);
      this.emit("refused", end.code, end.reason);
    } else {
      this.log(end.phase === "ready" ? "warn" : "info", "disconnected", fields);
    }
    this.emit("disconnect", end.code, end.reason);
    this.retry.afterClose(end).then(
      () => this.scheduleReconnect(),
      (err: unknown) => this.fail(err as Error),
    );
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.retry.schedule(() => this.open());
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
}

/**
 * Library entry: connects this device to its edge and keeps it connected.
 *
 * @example
 * ```ts
 * import { connect, loadConfig } from "impgate/device/index.ts";
 * const link = connect(await loadConfig("device.json"), {
 *   request: async (req) => ({ status: 200, body: `hello from ${req.path}` }),
 * });
 * ```
 */
export function connect(config: DeviceConfig, handlers: Handlers, options: LinkOptions = {}): DeviceLink {
  return new DeviceLink(config, handlers, options).start();
}
