/**
 * The device's side of the imp's object, as partyserver's Server shapes it: the socket's
 * hibernation handlers only decode and dispatch to intention-named hooks (onHello,
 * onReply, onAck, onEvent, onKey, onHealth, onRefused, onGone). Nothing on a socket is acted
 * on before its hello proved the device key over this socket's nonce (./device-handshake.ts):
 * a socket whose link is still `pending` may send a hello and nothing else.
 *
 * Handlers never throw: a frame that fails is logged with the object's name and the
 * socket closed with 1011. A new device → edge frame type is one more case in `message`
 * and one hook here; its schema lives in protocol/messages.ts.
 */

import { clientAddress } from "../../edge/client.ts";
import { errorResponse } from "../../edge/errors.ts";
import { log } from "../../edge/log.ts";
import { CloseCode, decodeFrame, encodeFrame, MAX_DATA_BYTES, type Message, type MessageOf, ProtocolError } from "../../protocol/index.ts";
import { checkHello, sendChallenge } from "../device-handshake.ts";
import {
  closeQuietly,
  DEVICE_TAG,
  HANDSHAKE_TIMEOUT_MS,
  type PendingLink,
  type ReadyLink,
  readLink,
  refuseFrame,
  sendQuietly,
  strike,
  writeLink,
} from "../device-link.ts";
import { refuseEvent } from "../e2e-policy.ts";
import type { ImpParts } from "../imp-parts.ts";
import { deliverQueued } from "../message-delivery.ts";
import { presenceMs } from "../presence.ts";

export class DeviceSocket {
  readonly #parts: ImpParts;

  constructor(parts: ImpParts) {
    this.#parts = parts;
  }

  /** `GET /device/<impId>/connect?cnonce=…` (Upgrade: websocket), forwarded by the worker: accept, then challenge. */
  async connect(request: Request): Promise<Response> {
    const cnonce = new URL(request.url).searchParams.get("cnonce") ?? "";
    if (!/^[A-Za-z0-9_-]{22,128}$/.test(cnonce)) {
      return errorResponse("bad_request", "cnonce query parameter required (22-128 base64url chars)");
    }
    const { ctx, env, audit, scheduler } = this.#parts;
    const imp = await this.#parts.record.get();
    const address = clientAddress(request);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    ctx.acceptWebSocket(server, [DEVICE_TAG]);

    if (!imp?.devicePublicJwk) {
      if (imp) audit.record("device_refused", address, { reason: "device key revoked" });
      closeQuietly(server, CloseCode.deviceRevoked, "unknown imp or revoked device key");
      return new Response(null, { status: 101, webSocket: client });
    }
    // Disabled with --drop-device: refused until enabled again (a code the daemon retries after).
    if (imp.disabled?.dropDevice) {
      closeQuietly(server, CloseCode.disabled, "imp disabled");
      return new Response(null, { status: 101, webSocket: client });
    }
    const { openedAt } = await sendChallenge(server, imp.impId, cnonce, env.EDGE_SIGNING_JWK, address);
    await scheduler.wakeBy(openedAt + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const link = readLink(ws);
    if (!link) return closeQuietly(ws, CloseCode.protocolError, "unknown socket");
    // Checked before decoding: nothing larger than a body plus its header is ever valid.
    if ((typeof data === "string" ? data.length : data.byteLength) > this.#parts.maxFrameBytes()) {
      return closeQuietly(ws, 1009, "frame too large");
    }
    if (link.state === "ready") {
      // A socket the device went offline on is dead: whatever still arrives on it is not acted on.
      if (link.offline) return;
      this.#parts.presence.heardFrom(ws, link);
    }
    let msg: Message;
    let payload: Uint8Array;
    try {
      ({ msg, payload } = decodeFrame(data));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (link.state === "pending") return closeQuietly(ws, CloseCode.protocolError, err.message);
      return strike(ws, err.code, err.message);
    }
    try {
      if (link.state === "pending") {
        if (msg.t !== "hello") return closeQuietly(ws, CloseCode.protocolError, "expected hello");
        return await this.onHello(ws, link, msg);
      }
      // A ready link: the frames a device sends, each to its hook; anything else is a strike.
      if (msg.t === "res") return this.onReply(msg, payload);
      if (msg.t === "ack") return await this.onAck(ws, msg);
      if (msg.t === "event") return await this.onEvent(ws, msg, payload);
      if (msg.t === "key") return await this.onKey(ws, msg);
      if (msg.t === "health") return this.onHealth(ws, msg);
      if (msg.t === "error") return this.onRefused(msg);
      return strike(ws, "unexpected", `unexpected message "${msg.t}"`);
    } catch (err) {
      log("error", this.#parts.where("webSocketMessage"), "frame handling failed", err);
      closeQuietly(ws, 1011, "internal error");
    }
  }

  async close(ws: WebSocket, code: number): Promise<void> {
    await this.onGone(ws);
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  async error(ws: WebSocket): Promise<void> {
    await this.onGone(ws);
  }

  private async onHello(ws: WebSocket, link: PendingLink, msg: MessageOf<"hello">): Promise<void> {
    const { audit, queue } = this.#parts;
    const imp = await this.#parts.record.get();
    if (!imp) return closeQuietly(ws, CloseCode.deviceRevoked, "unknown imp");
    const refused = await checkHello(ws, imp, link, msg);
    if (refused) {
      audit.record("device_refused", link.client, { reason: refused.why, code: refused.code });
      return closeQuietly(ws, refused.code, refused.reason);
    }
    const ready: ReadyLink = {
      state: "ready",
      openedAt: link.openedAt,
      readyAt: Date.now(),
      agent: msg.agent,
      sentThrough: 0,
      strikes: 0,
      client: link.client,
      ...(msg.heartbeatMs ? { heartbeatMs: msg.heartbeatMs } : {}),
      presenceMs: presenceMs(imp, msg.heartbeatMs),
    };
    writeLink(ws, ready);
    // One device connection per imp: a newer authenticated one replaces the rest.
    await this.#parts.presence.cameOnline(ws, ready);
    sendQuietly(ws, encodeFrame({ t: "ready", impId: imp.impId }));
    // Everything still queued goes out again, oldest first, until acknowledged (not while the imp is disabled).
    if (!imp.disabled) deliverQueued(queue, ws);
  }

  private onReply(msg: MessageOf<"res">, body: Uint8Array): void {
    // A reply nobody waits for (late after a 504, or made up) is dropped.
    this.#parts.pending.reply(msg.id, msg, body);
  }

  private async onAck(ws: WebSocket, msg: MessageOf<"ack">): Promise<void> {
    const { queue } = this.#parts;
    if (queue.ack(msg.id, Date.now(), msg.expired === true) === "unknown") {
      strike(ws, "unknown_message", "ack for a message this device was never sent", msg.id);
      return;
    }
    if (!(await this.#parts.record.get())?.disabled) deliverQueued(queue, ws);
  }

  private async onEvent(ws: WebSocket, msg: MessageOf<"event">, data: Uint8Array): Promise<void> {
    const disabled = Boolean((await this.#parts.record.get())?.disabled);
    if (data.byteLength > MAX_DATA_BYTES) {
      refuseFrame(ws, "too_large", `event data exceeds ${MAX_DATA_BYTES} bytes`, msg.id);
      return;
    }
    const imp = await this.#parts.record.get();
    const plaintext = imp && refuseEvent(imp, msg.contentType ?? null, data);
    if (plaintext) {
      refuseFrame(ws, plaintext.code, plaintext.message, msg.id);
      return;
    }
    const { events, waiters, agent } = this.#parts;
    const result = events.record({ id: msg.id, name: msg.name, contentType: msg.contentType ?? null, data }, Date.now());
    if (result === "too_many_names") {
      refuseFrame(ws, "too_many_names", "this imp already keeps the most event names it can", msg.id);
      return;
    }
    sendQuietly(ws, encodeFrame({ t: "ack", id: msg.id }));
    if (result !== "stored") return;
    waiters.notify(msg.name);
    // After the ack: the agent's handler never holds up the device. A disabled imp's agent code does not run.
    if (disabled) return;
    agent.deliverEvent({ id: msg.id, name: msg.name, contentType: msg.contentType ?? null, data, at: Date.now() });
  }

  /** The device's key statement: kept for callers if the device key signed it (./sealed-store.ts). */
  private async onKey(ws: WebSocket, msg: MessageOf<"key">): Promise<void> {
    const imp = await this.#parts.record.get();
    const kept = imp ? await this.#parts.sealedKeys.accept(imp, msg.statement) : null;
    if (!kept?.ok) strike(ws, "bad_statement", kept?.message ?? "no imp");
  }

  private onRefused(msg: MessageOf<"error">): void {
    // The device refused a frame of ours; nothing to undo, an unacked message is simply re-sent later.
    log("warn", this.#parts.where("webSocketMessage"), `device reported ${msg.code}`);
  }

  private onHealth(ws: WebSocket, msg: MessageOf<"health">): void {
    const link = readLink(ws) as ReadyLink;
    writeLink(ws, { ...link, rttMs: Math.round(msg.rttMs), rttAt: Date.now() });
  }

  private async onGone(ws: WebSocket): Promise<void> {
    // A deleted imp's socket closing after its storage went must not write any back.
    if (this.#parts.deleted) return this.#parts.pending.failSocket(ws);
    // A socket that never became ready has nothing waiting on it; one that did goes offline, once.
    await this.#parts.presence.wentOffline(ws, "closed");
  }
}
