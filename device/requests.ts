/** Agent HTTP requests on the device: the request handler's types, and turning its answer into a `res` frame. */
import { encodeFrame, type MessageOf } from "../protocol/index.ts";
import type { Logger } from "./log.ts";

/**
 * An agent HTTP request, as a request handler gets it: the path in its canonical form,
 * the query with its "?", the caller's headers (minus what the edge never passes on).
 *
 * @example
 * ```ts
 * import type { AgentReply, AgentRequest } from "impgate/device/index.ts";
 * const request = async (req: AgentRequest): Promise<AgentReply> =>
 *   req.path === "/door" ? { status: 200, body: "closed" } : { status: 404 };
 * ```
 */
export interface AgentRequest {
  id: string;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Uint8Array;
  /** Epoch ms after which the edge has already given up (504). */
  deadline: number;
  /**
   * For a request sealed end to end: who sealed it, the RFC 7638 thumbprint of a key in
   * the config's `e2e.senders` (tunnel mode: `Impgate-Sealed-Sender`). Absent: plaintext.
   */
  sender?: string;
}

/**
 * A request handler's answer; headers as pairs (repeats kept) or a record, the body as
 * bytes or text.
 *
 * @example
 * ```ts
 * import type { AgentReply } from "impgate/device/index.ts";
 * const reply: AgentReply = { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ c: 21.5 }) };
 * ```
 */
export interface AgentReply {
  status: number;
  headers?: [string, string][] | Record<string, string>;
  body?: Uint8Array | string;
}

export type RequestHandler = (req: AgentRequest) => AgentReply | Promise<AgentReply>;

/** Runs the handler (501 without one, 500 if it throws) and sends its reply with `send`. */
export async function answerRequest(
  handler: RequestHandler | undefined,
  msg: MessageOf<"req">,
  body: Uint8Array,
  send: (frame: Uint8Array) => void,
  log: Logger,
): Promise<void> {
  const started = Date.now();
  let reply: AgentReply;
  try {
    reply = handler
      ? await handler({
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
    log("error", "request handler failed", { id: msg.id, error: String(err) });
    reply = { status: 500, headers: { "content-type": "text/plain" }, body: "device handler error" };
  }
  const headers = Array.isArray(reply.headers) ? reply.headers : Object.entries(reply.headers ?? {});
  const payload = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : (reply.body ?? new Uint8Array(0));
  send(encodeFrame({ t: "res", id: msg.id, status: reply.status, headers }, payload));
  log("debug", "request", { id: msg.id, method: msg.method, path: msg.path, status: reply.status, ms: Date.now() - started });
}
