/**
 * One connection attempt to the edge: a websocket over pinned TLS and its handshake.
 *
 * The socket goes through its phases in order: challenge → verifying (the edge's proof,
 * checked with the pinned edge key before the device signs anything) → hello (the
 * device's proof sent) → ready. Until that socket's edge proof verified, nothing it
 * receives is acted on: a request, a message, an ack or a `ready` out of turn comes from
 * an impostor (a server the TLS pins accept, without the edge key), is logged as one,
 * and closes the socket with the protocol-error code. Only a ready socket hands frames
 * to the link.
 */
import { webcrypto } from "node:crypto";
import { base64url, decodeProtectedHeader } from "jose";
import WebSocket from "ws";
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  HEARTBEAT_PONG,
  type MessageOf,
  PROTOCOL_VERSION,
  ProofError,
  ProtocolError,
  signDeviceProof,
  verifyEdgeProof,
} from "../protocol/index.ts";
import type { DeviceConfig } from "./config.ts";
import type { Keys } from "./key-ring.ts";
import type { Logger } from "./log.ts";
import { pinnedTlsOptions } from "./pinned-tls.ts";
import type { AttemptEnd, AttemptPhase } from "./refusals.ts";
import { isTlsVerifyError } from "./tls-diagnosis.ts";

/** The edge must complete the handshake within this time, or the attempt is abandoned. */
const HANDSHAKE_DEADLINE_MS = 10_000;
/** Once close frames are exchanged, a server that keeps the TCP connection open does not delay the close (ws waits 30 s). */
const CLOSE_TIMEOUT_MS = 1_000;

/** What a ready socket hands to the link, and how the attempt ended. */
export interface SocketEvents {
  ready(): void;
  request(msg: MessageOf<"req">, body: Uint8Array): void;
  sealedRequest(msg: MessageOf<"sreq">, sealed: Uint8Array): void;
  message(msg: MessageOf<"msg">, data: Uint8Array): void;
  ack(msg: MessageOf<"ack">): void;
  error(msg: MessageOf<"error">): void;
  pong(): void;
  /** Whether the ready link is still alive by its heartbeat (a dead one is dropped by the check). */
  alive(): boolean;
  /** The configured keys cannot be used at all: nothing will work. */
  badKeys(err: unknown): void;
  tlsFailure(code: string, url: URL): void;
  closed(end: AttemptEnd & { reason: string; offeredKid?: string }): void;
}

export interface SocketOptions {
  config: DeviceConfig;
  keys: Promise<Keys>;
  /** Which device key to prove (see KeyRing). */
  keyIndex: number;
  agent: string;
  log: Logger;
  events: SocketEvents;
}

export class LinkSocket {
  readonly ws: WebSocket;
  readonly keyIndex: number;
  private phase: AttemptPhase = "challenge";
  /** The phase it was in when it was closed: a refusal's trust depends on it. */
  private endedIn: AttemptPhase | undefined;
  /** This device closed it: the peer's close code then means nothing. */
  private closedByUs = false;
  private httpStatus: number | undefined;
  private edgeProof: string | undefined;
  private offeredKid: string | undefined;
  private readonly cnonce = base64url.encode(webcrypto.getRandomValues(new Uint8Array(32)));
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly options: SocketOptions;

  constructor(options: SocketOptions) {
    this.options = options;
    this.keyIndex = options.keyIndex;
    const { config, log, events } = options;
    const url = new URL(`/device/${encodeURIComponent(config.impId)}/connect`, config.edgeUrl);
    url.protocol = "wss:";
    url.searchParams.set("cnonce", this.cnonce);
    log("info", "connecting", { url: url.origin });

    const wsOptions: WebSocket.ClientOptions & { closeTimeout: number } = {
      // @types/ws declares checkServerIdentity as boolean-returning; ws hands it to tls.connect, which wants Error | undefined.
      ...(pinnedTlsOptions(config.tls) as unknown as WebSocket.ClientOptions),
      maxPayload: config.maxBodyBytes + 64 * 1024,
      handshakeTimeout: HANDSHAKE_DEADLINE_MS,
      perMessageDeflate: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
    };
    const ws = new WebSocket(url, wsOptions);
    this.ws = ws;
    this.handshakeTimer = setTimeout(() => {
      log("warn", "handshake timed out");
      ws.terminate();
    }, HANDSHAKE_DEADLINE_MS);

    ws.on("unexpected-response", (_req, res) => {
      this.httpStatus = res.statusCode;
      log("warn", "edge refused the connection", { status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.on("message", (data, isBinary) => {
      if (this.phase === "closed") return;
      // What arrives on a link the heartbeat already gave up on is stale: not acted on, not even a pong.
      if (this.phase === "ready" && !events.alive()) return;
      if (!isBinary) {
        if (this.phase !== "ready") this.outOfOrder("text");
        else if (data.toString() === HEARTBEAT_PONG) events.pong();
        return;
      }
      this.onFrame(data as Buffer).catch((err: unknown) => {
        log("error", "frame handling failed", { error: String(err) });
        this.close(CloseCode.protocolError, "internal error");
      });
    });
    ws.on("error", (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (this.httpStatus) return;
      log("warn", "link error", { error: err.message, code });
      if (isTlsVerifyError(code)) events.tlsFailure(code ?? "", url);
    });
    ws.on("close", (code, reason) => {
      clearTimeout(this.handshakeTimer);
      this.endedIn ??= this.phase;
      this.phase = "closed";
      events.closed({
        phase: this.endedIn,
        code,
        reason: reason.toString(),
        closedByUs: this.closedByUs,
        httpStatus: this.httpStatus,
        edgeProof: this.edgeProof,
        offeredKid: this.offeredKid,
      });
    });
  }

  get isReady(): boolean {
    return this.phase === "ready";
  }

  /** Sends on a ready socket only; false when nothing was sent. */
  send(frame: Uint8Array): boolean {
    if (this.phase !== "ready" || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame);
    return true;
  }

  /** Closes the socket; nothing it receives from now on is acted on. */
  close(code: number, reason: string): void {
    if (this.phase === "closed") {
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      return;
    }
    this.endedIn = this.phase;
    this.phase = "closed";
    this.closedByUs = true;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(code, reason);
  }

  /** Drops the socket at once, without a close handshake: the edge stopped answering. */
  abandon(reason: string): void {
    if (this.phase === "closed") return;
    this.endedIn = this.phase;
    this.phase = "closed";
    this.closedByUs = true;
    this.options.log("debug", "link abandoned", { reason });
    this.ws.terminate();
  }

  /** A frame this socket's phase does not allow: before the edge proof, the server is an impostor. */
  private outOfOrder(what: string): void {
    this.options.log(
      "error",
      this.phase !== "ready"
        ? "impostor: the server sent a frame before proving the pinned edge key; link closed"
        : "the edge sent a frame out of order; link closed",
      { frame: what, phase: this.phase },
    );
    this.close(CloseCode.protocolError, "unexpected frame");
  }

  private async onFrame(data: Buffer): Promise<void> {
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (this.phase !== "ready") return this.outOfOrder(`malformed (${err.code})`);
      this.options.log("warn", "bad frame from edge", { code: err.code });
      return;
    }
    const { msg, payload } = frame;
    const { events } = this.options;
    switch (this.phase) {
      case "challenge":
        return msg.t === "challenge" ? this.onChallenge(msg) : this.outOfOrder(msg.t);
      case "hello":
        if (msg.t !== "ready" || msg.impId !== this.options.config.impId) return this.outOfOrder(msg.t);
        this.phase = "ready";
        clearTimeout(this.handshakeTimer);
        return events.ready();
      case "ready":
        switch (msg.t) {
          case "req":
            return events.request(msg, payload);
          case "sreq":
            return events.sealedRequest(msg, payload);
          case "msg":
            return events.message(msg, payload);
          case "ack":
            return events.ack(msg);
          case "error":
            return events.error(msg);
          default:
            return this.outOfOrder(msg.t);
        }
      case "verifying":
        // Nothing may arrive while the device checks the edge's proof: the edge waits for the hello.
        return this.outOfOrder(msg.t);
      case "closed":
        return;
    }
  }

  private async onChallenge(msg: MessageOf<"challenge">): Promise<void> {
    this.phase = "verifying";
    const { config, log } = this.options;
    let keys: Keys;
    try {
      keys = await this.options.keys;
    } catch (err) {
      this.close(1000, "bad configuration");
      this.options.events.badKeys(err);
      return;
    }
    try {
      // Authenticate the edge before signing anything: a rogue TLS endpoint gets nothing.
      await verifyEdgeProof(keys.edge, msg.proof, { impId: config.impId, nonce: msg.nonce, cnonce: this.cnonce });
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      this.edgeProof = err.code;
      this.offeredKid = kidOf(msg.proof);
      log("error", "edge failed the pinned-key check", {
        reason: err.code,
        ...(err.code === "stale" ? { hint: "check this device's clock" } : { kid: this.offeredKid }),
      });
      this.close(CloseCode.badEdgeProof, "edge proof failed");
      return;
    }
    // biome-ignore lint/style/noNonNullAssertion: keys.device always holds deviceKey; the key ring advances only while another key remains
    const device = keys.device[this.keyIndex] ?? keys.device[0]!;
    const proof = await signDeviceProof(device.key, device.alg, { impId: config.impId, nonce: msg.nonce });
    // An out-of-order frame may have closed the socket while the proofs were checked and signed.
    if (this.phase !== "verifying" || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(
      encodeFrame({
        t: "hello",
        proof,
        agent: this.options.agent,
        protocols: [PROTOCOL_VERSION],
        heartbeatMs: config.heartbeat.intervalMs,
      }),
    );
    this.phase = "hello";
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
