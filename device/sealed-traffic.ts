/**
 * The daemon's end of end-to-end sealing, made from the `e2e` section of its config
 * (protocol/sealed/config.ts): it opens sealed requests (`sreq` frames) and messages before
 * a handler or the local service sees them, seals their replies, seals events to the
 * owners, and hands the edge its signed key statement to serve to callers.
 *
 * What reaches a handler is what a plaintext request would bring: the path in its canonical
 * form, no `/_…` path, none of the headers the edge strips from callers (a sealed request
 * cannot claim an `impgate-client` either; the edge's view of the caller's address is added,
 * as for plaintext), plus who sealed it (`sender`). A request that does not open is refused
 * in the clear (there is nothing to seal the refusal with); every answer after it opened,
 * refusals included, goes back sealed.
 *
 * Unless `e2e.allowPlaintext`, plaintext requests and messages are refused: otherwise a
 * compromised edge, which cannot seal as an accepted sender, could simply send plaintext.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CLIENT_HEADER,
  canonicalPath,
  type ErrorCode,
  encodeFrame,
  isReservedAgentPath,
  isStrippedRequestHeader,
  type MessageOf,
  statusOf,
} from "../protocol/index.ts";
import type { SealedDeviceConfig } from "../protocol/sealed/config.ts";
import type { ReplayGuard } from "../protocol/sealed/envelope.ts";
import { errorCodeOf, isSealedError } from "../protocol/sealed/errors.ts";
import { isMediaType, SEALED_MEDIA_TYPES } from "../protocol/sealed/media-types.ts";
import { type OpenedMessage, openMessage } from "../protocol/sealed/message.ts";
import { type OpenedRequest, openRequest } from "../protocol/sealed/request.ts";
import { SenderSet } from "../protocol/sealed/sender.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import type { DeviceConfig } from "./config.ts";
import type { AgentMessage, MessageHandler } from "./inbox.ts";
import type { Logger } from "./log.ts";
import type { AgentReply, AgentRequest, RequestHandler } from "./requests.ts";
import { KEYS_FILE, SealedKeys } from "./sealed-keys.ts";
import { SealedReplayMemory } from "./sealed-replay.ts";

/** The one sealed message whose handler may have been cut short (the inbox's in-flight one), and its sealed id. */
const INFLIGHT_FILE = "sealed-inflight.json";

/** A reply's parts, as a `res` frame carries them. */
export interface ReplyParts {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export class SealedTraffic {
  readonly keys: SealedKeys;
  readonly allowPlaintext: boolean;
  readonly senders: SenderSet;
  readonly config: DeviceConfig & { e2e: SealedDeviceConfig };
  private readonly requests: SealedReplayMemory;
  private readonly messages: SealedReplayMemory;
  private readonly stateDir: string;
  readonly log: Logger;
  private inflight: { msgId: string; sealedId: string } | null;

  private constructor(parts: {
    config: DeviceConfig & { e2e: SealedDeviceConfig };
    keys: SealedKeys;
    requests: SealedReplayMemory;
    messages: SealedReplayMemory;
    senders: SenderSet;
    stateDir: string;
    inflight: { msgId: string; sealedId: string } | null;
    log: Logger;
  }) {
    this.config = parts.config;
    this.keys = parts.keys;
    this.requests = parts.requests;
    this.messages = parts.messages;
    this.senders = parts.senders;
    this.stateDir = parts.stateDir;
    this.inflight = parts.inflight;
    this.log = parts.log;
    this.allowPlaintext = parts.config.e2e.allowPlaintext;
  }

  /** The device's sealed end, or null when its config has no `e2e` section. A damaged state file throws StateFileError. */
  static async open(config: DeviceConfig, log: Logger): Promise<SealedTraffic | null> {
    const e2e = config.e2e;
    if (!e2e) return null;
    const stateDir = config.stateDir;
    if (!stateDir) throw new Error("end-to-end sealing needs config.stateDir (loadConfig sets it)");
    const [keys, requests, messages, senders, inflight] = await Promise.all([
      SealedKeys.open(join(stateDir, e2e.keysFile ?? KEYS_FILE), { impId: config.impId, identityKey: config.deviceKey }),
      SealedReplayMemory.open(stateDir, "requests"),
      SealedReplayMemory.open(stateDir, "messages"),
      SenderSet.from(e2e.senders),
      readInflight(join(stateDir, INFLIGHT_FILE)),
    ]);
    return new SealedTraffic({ config: { ...config, e2e }, keys, requests, messages, senders, stateDir, inflight, log });
  }

  /** Whether events are sealed: only when the config names someone to read them. */
  get sealsEvents(): boolean {
    return this.config.e2e.recipients.length > 0;
  }

  /** The statement to hand the edge (re-signed when half its life is gone). */
  statement(): Promise<string> {
    return this.keys.currentStatement();
  }

  /**
   * Opens a sealed request, runs `handler` on the inner request, and returns the reply to
   * send back: the sealed inner response, or a refusal in the clear when it does not open.
   */
  async answer(msg: MessageOf<"sreq">, bytes: Uint8Array, handler: RequestHandler | undefined): Promise<ReplyParts> {
    let opened: OpenedRequest;
    try {
      opened = await this.retryingUnknownKey(async () =>
        openRequest(await this.keys.keyring(), bytes, { replay: this.requests, senders: this.senders }),
      );
    } catch (err) {
      if (!isSealedError(err)) throw err;
      this.log("warn", "sealed request refused", { id: msg.id, code: err.code });
      return refusal(errorCodeOf(err), err.message);
    }
    const reply = await this.handle(msg, opened, handler);
    const headers = Array.isArray(reply.headers) ? reply.headers : Object.entries(reply.headers ?? {});
    const body = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : (reply.body ?? new Uint8Array(0));
    const status = Number.isInteger(reply.status) && reply.status >= 200 && reply.status <= 599 ? reply.status : 502;
    const sealed = await opened.sealReply({ status, headers: headers.map(([n, v]) => [n.toLowerCase(), v] as [string, string]), body });
    return { status: 200, headers: [["content-type", SEALED_MEDIA_TYPES.reply]], body: sealed };
  }

  /** The inner request as a plaintext one would reach the handler; refusals here are sealed like any reply. */
  private async handle(msg: MessageOf<"sreq">, opened: OpenedRequest, handler: RequestHandler | undefined): Promise<AgentReply> {
    const { inner } = opened;
    const path = canonicalPath(inner.path);
    if (!path.ok) return innerRefusal("bad_path", `Unusable path: ${path.reason}`);
    if (isReservedAgentPath(path.path)) return innerRefusal("not_found", "No such agent API path");
    if (!handler) return { status: 501, body: "no request handler on this device" };
    const headers = inner.headers.filter(([name]) => !isStrippedRequestHeader(name));
    headers.push([CLIENT_HEADER, msg.client]);
    const req: AgentRequest = {
      id: msg.id,
      method: inner.method,
      path: path.path,
      query: inner.query,
      headers,
      body: inner.body,
      deadline: msg.deadline,
      sender: opened.sender,
    };
    try {
      return await handler(req);
    } catch (err) {
      this.log("error", "request handler failed", { id: msg.id, error: String(err) });
      return { status: 500, headers: { "content-type": "text/plain" }, body: "device handler error" };
    }
  }

  /**
   * Wraps the message handler: sealed messages are opened first (and refused when they do
   * not open: the inbox logs it and counts the message handled); plaintext ones are refused
   * unless `allowPlaintext`.
   */
  messageHandler(handler: MessageHandler): MessageHandler {
    return async (m) => {
      if (!isMediaType(m.contentType, SEALED_MEDIA_TYPES.message)) {
        if (this.allowPlaintext) return handler(m);
        throw new Error("plaintext message refused: this device takes sealed messages only (e2e.allowPlaintext is off)");
      }
      const opened = await this.openMessage(m);
      const { name, contentType, data } = opened.message;
      return handler({ ...m, name, contentType: contentType ?? null, data, sender: opened.sender });
    };
  }

  /**
   * Opens a queued sealed message. A message whose handler was cut short (the daemon died)
   * comes again with the same edge id: its sealed id is then accepted once more, but only
   * under that id, so the edge cannot pass an old message off as the interrupted one.
   */
  private openMessage(m: AgentMessage): Promise<OpenedMessage> {
    const guard: ReplayGuard = {
      remember: async (id, sentAt, now) => {
        if (m.redelivered && this.inflight?.msgId === m.id && this.inflight.sealedId === id) return "fresh";
        // On disk before the replay memory: a crash between the two still finds it on redelivery.
        this.inflight = { msgId: m.id, sealedId: id };
        await writeFileAtomic(join(this.stateDir, INFLIGHT_FILE), JSON.stringify(this.inflight));
        return this.messages.remember(id, sentAt, now);
      },
    };
    return this.retryingUnknownKey(async () => openMessage(await this.keys.keyring(), m.data, { replay: guard, senders: this.senders }));
  }

  /** A key another process rotated in (`impgate-device e2e rotate`): taken up before giving up on an unknown key id. */
  private async retryingUnknownKey<T>(open: () => Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (err) {
      if (isSealedError(err, "ERR_SEALED_UNKNOWN_KEY") && (await this.keys.refresh())) return open();
      throw err;
    }
  }
}

/**
 * The `res` frame answering a sealed request: from `sealed`, or a refusal when this device
 * has no `e2e` section (or answering failed: logged, nothing of it told).
 */
export async function answerSealed(
  sealed: SealedTraffic | null,
  msg: MessageOf<"sreq">,
  bytes: Uint8Array,
  handler: RequestHandler | undefined,
  log: Logger,
): Promise<Uint8Array> {
  const reply = sealed
    ? await sealed.answer(msg, bytes, handler).catch((err: unknown) => {
        log("error", "sealed request failed", { id: msg.id, error: String(err) });
        return refusal("internal", "The device could not answer the sealed request");
      })
    : refusal("e2e_off", "This device has no end-to-end keys (no e2e section in its config)");
  return encodeFrame({ t: "res", id: msg.id, status: reply.status, headers: reply.headers }, reply.body);
}

/** The `res` frame refusing a plaintext request on a device that takes sealed ones only. */
export function plaintextRefused(msg: MessageOf<"req">, log: Logger): Uint8Array {
  log("warn", "plaintext request refused: this device takes sealed requests only", { id: msg.id });
  const reply = refusal("e2e_required", "This device takes sealed (end-to-end) requests only");
  return encodeFrame({ t: "res", id: msg.id, status: reply.status, headers: reply.headers }, reply.body);
}

/** Without an `e2e` section, a sealed message cannot be opened: it is refused (logged, and counted handled) rather than handed over as noise. */
export function refuseSealedMessages(handler: MessageHandler): MessageHandler {
  return async (m) => {
    if (m.contentType === SEALED_MEDIA_TYPES.message)
      throw new Error("sealed message refused: this device has no e2e section in its config");
    return handler(m);
  };
}

/** A refusal in the clear, in the one error shape: the envelope did not open, so there is no key to seal it with. */
function refusal(code: ErrorCode, message: string): ReplyParts {
  const body = new TextEncoder().encode(JSON.stringify({ error: { code, message } }));
  return { status: statusOf(code), headers: [["content-type", "application/json"]], body };
}

/** A refusal of an opened request: the handler never sees it, the caller reads it sealed. */
function innerRefusal(code: ErrorCode, message: string): AgentReply {
  return { status: statusOf(code), headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code, message } }) };
}

async function readInflight(file: string): Promise<{ msgId: string; sealedId: string } | null> {
  try {
    const v = JSON.parse(await readFile(file, "utf8")) as { msgId?: unknown; sealedId?: unknown };
    return typeof v.msgId === "string" && typeof v.sealedId === "string" ? { msgId: v.msgId, sealedId: v.sealedId } : null;
  } catch {
    // Missing or damaged: the worst case is one interrupted sealed message refused as replayed.
    return null;
  }
}
