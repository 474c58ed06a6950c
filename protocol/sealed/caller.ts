/**
 * The caller's end of a sealed imp, for Node and browsers alike (WebCrypto only): it holds
 * the pin, the highest statement sequence seen and the verified key, and seals requests and
 * messages to that key. Where the statement comes from and where the sealed bytes go (the
 * edge's routes) is the application's business: this class never touches the network.
 */
import type { InnerRequest } from "./bhttp.ts";
import { SealedError } from "./errors.ts";
import { type InnerMessage, sealMessage } from "./message.ts";
import { type SealedRequest, sealRequest } from "./request.ts";
import type { SenderKey } from "./sender.ts";
import { parsePin, type VerifiedStatement, verifyStatement } from "./statement.ts";

/** What a caller keeps between runs to keep refusing rollbacks (`impgate e2e pin` stores it). */
export interface CallerPinState {
  impId: string;
  pin: string;
  lastSequence?: number;
}

/**
 * A caller of one sealed imp, signing what it seals with `sender` (a key the device lists
 * in its `e2e.senders`). Without a sender it can check statements, and seals nothing.
 *
 * @example
 * ```ts
 * import { SealedCaller, senderKey } from "./protocol/sealed/index.ts"; // WebCrypto only: bundles for a browser as is
 * const auth = { authorization: `Bearer ${token}` };
 * const caller = new SealedCaller({ impId: "imp_…", pin: "sha256:3q2-7w…" }, await senderKey(callerJwk)); // pinned out of band
 * await caller.trust(await (await fetch(`${agent}/_sealed/key`, { headers: auth })).text());
 * const sealed = await caller.seal({ method: "POST", path: "/door", body: new TextEncoder().encode("open") });
 * const res = await fetch(`${agent}/_sealed`, { method: "POST", headers: auth, body: sealed.bytes });
 * if (!res.ok) throw new Error(`refused: ${res.status} ${await res.text()}`);
 * const reply = await sealed.openReply(new Uint8Array(await res.arrayBuffer()));
 * console.log(reply.status, new TextDecoder().decode(reply.body));
 * ```
 */
export class SealedCaller {
  private readonly impId: string;
  private readonly pin: string;
  private readonly sender: SenderKey | undefined;
  private sequence: number | undefined;
  private key: VerifiedStatement | undefined;

  constructor(state: CallerPinState, sender?: SenderKey) {
    if (sender !== undefined && typeof sender?.sign !== "function") throw new TypeError("a sender is a SenderKey (senderKey())");
    this.impId = state.impId;
    this.pin = parsePin(state.pin);
    this.sender = sender;
    this.sequence = state.lastSequence;
  }

  /** What to save so a later run still refuses statements older than the newest seen. */
  state(): CallerPinState {
    return { impId: this.impId, pin: this.pin, ...(this.sequence === undefined ? {} : { lastSequence: this.sequence }) };
  }

  /**
   * Verifies a key statement against the pin (see `verifyStatement` for the refusals) and
   * makes its key the one to seal to. Call again whenever the device answers
   * `ERR_SEALED_UNKNOWN_KEY` (it rotated) or the statement expires.
   */
  async trust(statement: string, now = Date.now()): Promise<VerifiedStatement> {
    const verified = await verifyStatement(this.pin, statement, { impId: this.impId, lastSequence: this.sequence, now });
    this.sequence = verified.sequence;
    this.key = verified;
    return verified;
  }

  /** Seals an inner request to the trusted key; open the reply with the result's `openReply`. */
  async seal(inner: InnerRequest, now = Date.now()): Promise<SealedRequest> {
    return sealRequest(this.current(now), inner, { sender: this.signer(), now });
  }

  /** Seals an agent message to the trusted key. */
  async sealMessage(message: InnerMessage, now = Date.now()): Promise<{ bytes: Uint8Array; id: string; sentAt: number }> {
    return sealMessage(this.current(now), message, { sender: this.signer(), now });
  }

  private signer(): SenderKey {
    if (!this.sender) throw new TypeError("this caller has no sender key: sealed requests and messages are signed by one");
    return this.sender;
  }

  private current(now: number): VerifiedStatement {
    if (!this.key) throw new TypeError("no key statement trusted yet: call trust() first");
    if (now > this.key.notAfter) throw new SealedError("ERR_KEY_STATEMENT_EXPIRED", "fetch a fresh statement and trust() it");
    return this.key;
  }
}
