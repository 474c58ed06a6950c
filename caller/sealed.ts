/**
 * A caller of a sealed imp over the network, for Node and browsers alike (WebCrypto and
 * `fetch` only): it fetches the device's key statement through the edge and checks it
 * against the pin (protocol/sealed/caller.ts) before it seals anything, sends sealed
 * requests and messages, opens the replies, and opens the device's sealed events with an
 * owner's key. The edge authenticates the caller (`headers`: any credential) and relays
 * what it cannot read.
 *
 * A device that answers `sealed_unknown_key` rotated its key: the statement is fetched and
 * checked again, and the request sealed once more, once. Every refusal is a
 * `SealedCallError` with the code the edge or the device answered (protocol/errors.ts), or
 * the library's own (`ERR_KEY_STATEMENT_IDENTITY_CHANGED`: the edge served a statement the
 * pinned device did not sign; nothing was sent).
 */
import type { JWK } from "jose";
import { CodedError } from "../protocol/errors.ts";
import type { DecodedResponse, InnerRequest } from "../protocol/sealed/bhttp.ts";
import { type CallerPinState, SealedCaller } from "../protocol/sealed/caller.ts";
import { isSealedError } from "../protocol/sealed/errors.ts";
import { openEvent } from "../protocol/sealed/events.ts";
import { isMediaType, SEALED_MEDIA_TYPES, SEALED_NAME } from "../protocol/sealed/media-types.ts";
import type { InnerMessage } from "../protocol/sealed/message.ts";
import type { SenderKey } from "../protocol/sealed/sender.ts";
import type { VerifiedStatement } from "../protocol/sealed/statement.ts";

/** One HTTP exchange; the default is `fetch`. The CLI passes its own (to trust a development CA). */
export type Transport = (request: {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}) => Promise<{ status: number; contentType: string | null; body: Uint8Array }>;

const fetchTransport: Transport = async ({ method, url, headers, body }) => {
  const res = await fetch(url, { method, headers, ...(body ? { body } : {}) });
  return { status: res.status, contentType: res.headers.get("content-type"), body: new Uint8Array(await res.arrayBuffer()) };
};

/** One request to the edge, as `headers` gets it to authenticate: the body is the sealed bytes (or none). */
export interface OuterRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A refusal of a sealed call: `code` is the edge's or the device's error code, or the sealed layer's `ERR_…`. */
export class SealedCallError extends CodedError<string> {
  override readonly name = "SealedCallError";
  readonly status: number | undefined;
  constructor(code: string, message: string, status?: number) {
    super(code, message);
    this.status = status;
  }
}

export interface SealedAgentOptions {
  /** `https://<host>/agent/<id>`. */
  agentUrl: string;
  /** The pin and the highest statement sequence seen so far (keep `state()` between runs). */
  pin: CallerPinState;
  /** The caller's signing key, listed in the device's `e2e.senders` (not needed to read events). */
  sender?: SenderKey;
  /**
   * The headers that authenticate one outer request to the edge, made per request: a
   * DPoP-bound token with a fresh proof for this method and URL, an RFC 9421 signature
   * over it, a code. `request.headers` are the ones it carries already (its content type).
   */
  headers: (request: OuterRequest) => Record<string, string> | Promise<Record<string, string>>;
  transport?: Transport;
}

/** A sealed event as an owner reads it, or an event the device sent in the clear. */
export interface ReadEvent {
  seq: number;
  at: number;
  name: string;
  contentType: string | null;
  data: Uint8Array;
  /** Whether it was sealed (and so signed by the pinned device). */
  sealed: boolean;
  /** For a sealed event that did not open: why (`ERR_SEALED_UNKNOWN_KEY`: not sealed to this owner; `ERR_SEALED_FORGED`…). */
  refused?: string;
}

/**
 * @example
 * ```ts
 * const agent = new SealedAgent({
 *   agentUrl, pin: { impId: "imp_…", pin: "sha256:…" }, sender: await senderKey(callerJwk),
 *   // A DPoP-bound token (the default for jwt credentials): a fresh proof for each request.
 *   headers: async ({ method, url }) => ({
 *     authorization: `DPoP ${token}`,
 *     dpop: await createDpopProof(callerKey, { method, url, accessToken: token }),
 *   }),
 * });
 * const reply = await agent.request({ method: "POST", path: "/door", body: new TextEncoder().encode("open") });
 * console.log(reply.status, new TextDecoder().decode(reply.body));
 * ```
 */
export class SealedAgent {
  readonly agentUrl: string;
  private readonly caller: SealedCaller;
  private readonly options: SealedAgentOptions;
  private readonly transport: Transport;
  private trusted: VerifiedStatement | undefined;

  constructor(options: SealedAgentOptions) {
    this.agentUrl = options.agentUrl.replace(/\/$/, "");
    this.options = options;
    this.caller = new SealedCaller(options.pin, options.sender);
    this.transport = options.transport ?? fetchTransport;
  }

  /** What to save: the pin and the highest statement sequence seen. */
  state(): CallerPinState {
    return this.caller.state();
  }

  /** Fetches the device's statement through the edge and checks it against the pin. */
  async trust(): Promise<VerifiedStatement> {
    const res = await this.send("GET", "/_sealed/key");
    if (res.status !== 200) throw refusal(res, "the key statement");
    this.trusted = await this.caller.trust(new TextDecoder().decode(res.body));
    return this.trusted;
  }

  /** Seals `inner`, sends it, and opens the device's reply. */
  async request(inner: InnerRequest): Promise<DecodedResponse> {
    for (let attempt = 0; ; attempt++) {
      if (!this.trusted || Date.now() > this.trusted.notAfter) await this.trust();
      const sealed = await this.caller.seal(inner);
      const res = await this.send("POST", "/_sealed", sealed.bytes, SEALED_MEDIA_TYPES.request);
      if (res.status === 200 && isMediaType(res.contentType, SEALED_MEDIA_TYPES.reply)) return sealed.openReply(res.body);
      const error = refusal(res, "the sealed request");
      // The device rotated its key: fetch the new statement (checked against the pin again) and seal once more.
      if (error.code !== "sealed_unknown_key" || attempt > 0) throw error;
      this.trusted = undefined;
    }
  }

  /** Seals an agent message and queues it (`POST _messages`); resolves to the edge's answer (its id, status). */
  async message(message: InnerMessage, options: { ttlS?: number } = {}): Promise<{ id: string; status: string }> {
    if (!this.trusted || Date.now() > this.trusted.notAfter) await this.trust();
    const sealed = await this.caller.sealMessage(message);
    const ttl = options.ttlS === undefined ? "" : `&ttl=${options.ttlS}`;
    const res = await this.send("POST", `/_messages?name=${SEALED_NAME}${ttl}`, sealed.bytes, SEALED_MEDIA_TYPES.message);
    if (res.status !== 202) throw refusal(res, "the sealed message");
    return JSON.parse(new TextDecoder().decode(res.body)) as { id: string; status: string };
  }

  /**
   * The imp's events (`GET _events`), sealed ones opened with `ownerKey` (an X25519 JWK in
   * the device's `e2e.recipients`) and checked against the pin. One that does not open for
   * this owner, or was not signed by the pinned device, comes with `refused` and no data.
   */
  async events(
    ownerKey: JWK,
    query: { after?: number; limit?: number; waitS?: number } = {},
  ): Promise<{ events: ReadEvent[]; cursor: number }> {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set("after", String(query.after));
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.waitS !== undefined) params.set("wait", String(query.waitS));
    const res = await this.send("GET", `/_events${params.size ? `?${params}` : ""}`);
    if (res.status !== 200) throw refusal(res, "the events");
    const page = JSON.parse(new TextDecoder().decode(res.body)) as { events: StoredEvent[]; cursor: number };
    const { impId, pin } = this.caller.state();
    const events: ReadEvent[] = [];
    for (const e of page.events) {
      if (isMediaType(e.contentType, SEALED_MEDIA_TYPES.event)) {
        try {
          const opened = await openEvent(JSON.stringify(e.data), { key: ownerKey, pin, impId });
          const { name, contentType, data, sentAt } = opened;
          events.push({ seq: e.seq, at: sentAt, name, contentType: contentType ?? null, data, sealed: true });
        } catch (err) {
          if (!isSealedError(err)) throw err;
          events.push({ seq: e.seq, at: e.at, name: e.name, contentType: null, data: new Uint8Array(0), sealed: true, refused: err.code });
        }
      } else {
        events.push({ seq: e.seq, at: e.at, name: e.name, contentType: e.contentType, data: plainData(e), sealed: false });
      }
    }
    return { events, cursor: page.cursor };
  }

  private async send(method: string, path: string, body?: Uint8Array, contentType?: string) {
    const url = `${this.agentUrl}${path}`;
    const own: Record<string, string> = contentType ? { "content-type": contentType } : {};
    const auth = await this.options.headers({ method, url, headers: own, body: body ?? new Uint8Array(0) });
    return this.transport({ method, url, headers: { ...auth, ...own }, ...(body ? { body } : {}) });
  }
}

interface StoredEvent {
  seq: number;
  at: number;
  name: string;
  contentType: string | null;
  data: unknown;
  encoding?: "base64";
}

/** A plaintext event's data as bytes, from the JSON the edge answers (JSON, text, or base64). */
function plainData(e: StoredEvent): Uint8Array {
  if (e.encoding === "base64" && typeof e.data === "string") return Uint8Array.from(atob(e.data), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(typeof e.data === "string" ? e.data : JSON.stringify(e.data));
}

/** The edge's or the device's refusal (`{ error: { code, message } }`), or what came instead. */
function refusal(res: { status: number; body: Uint8Array }, what: string): SealedCallError {
  try {
    const { error } = JSON.parse(new TextDecoder().decode(res.body)) as { error: { code: string; message: string } };
    if (typeof error.code === "string")
      return new SealedCallError(error.code, `${what} refused (${res.status} ${error.code}): ${error.message}`, res.status);
  } catch {
    // not the error shape
  }
  return new SealedCallError("unexpected_answer", `${what}: the edge answered ${res.status}`, res.status);
}
