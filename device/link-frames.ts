/**
 * The frames a ready socket hands the device link that are answered on the spot: agent
 * requests (plain or sealed) and the edge's acks and errors for sent events. Apart from
 * link.ts, which keeps the connection; messages go through the inbox (inbox.ts).
 */

import type { Handlers } from "./link-options.ts";
import type { SocketEvents } from "./link-socket.ts";
import type { Logger } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { answerRequest } from "./requests.ts";
import { answerSealed, plaintextRefused, type SealedTraffic } from "./sealed-traffic.ts";

export interface FrameContext {
  /** Sends a frame on the socket these frames came from. */
  send: (frame: Uint8Array) => void;
  /** End-to-end sealing (config `e2e`), opened before the first connect; null without it. */
  sealed: SealedTraffic | null;
  handlers: Handlers;
  outbox: Outbox;
  log: Logger;
}

export function answerFrames(ctx: FrameContext): Pick<SocketEvents, "request" | "sealedRequest" | "ack" | "error"> {
  const { send, sealed, handlers, outbox, log } = ctx;
  return {
    request: (msg, body) => {
      // A device that takes sealed traffic refuses plaintext: a compromised edge cannot simply skip the sealing.
      if (sealed && !sealed.allowPlaintext) send(plaintextRefused(msg, log));
      else void answerRequest(handlers.request, msg, body, send, log);
    },
    sealedRequest: (msg, sealedBody) => void answerSealed(sealed, msg, sealedBody, handlers.request, log).then(send),
    ack: (msg) => {
      if (!outbox.acknowledged(msg.id)) log("debug", "ack for no pending event", { id: msg.id });
    },
    error: (msg) => {
      if (msg.ref && outbox.refused(msg.ref, msg.code, msg.message)) {
        log("warn", "edge refused an event", { id: msg.ref, code: msg.code, message: msg.message });
      } else {
        log("warn", "edge reported an error", { code: msg.code, message: msg.message });
      }
    },
  };
}
