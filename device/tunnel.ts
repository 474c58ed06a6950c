/**
 * Tunnel mode: each agent request becomes a request to a local HTTP service, and its
 * response (status, headers, body) goes back unchanged. node:http rather than fetch, so
 * bodies pass through byte for byte (no transparent decompression).
 *
 * Agent messages become `POST <service><messagePath>/<name>` with the message data as
 * the body and its id in `Impgate-Message-Id` (plus `Impgate-Redelivered: 1` when an
 * earlier attempt may have been cut short). A 2xx answer means handled; 408, 429, 5xx
 * or no answer mean "try again later"; any other status means the service refused it
 * for good (logged, not retried).
 *
 * A request or message sealed end to end arrives opened (device/sealed-traffic.ts), with
 * `Impgate-Sealed-Sender` naming the key that sealed it.
 */
import http from "node:http";
import https from "node:https";
import { CLIENT_HEADER, canonicalPath, type ErrorCode, headerKey, isHopByHop, isUnderPath, statusOf } from "../protocol/index.ts";
import { type AgentMessage, RetryLater } from "./inbox.ts";
import type { AgentReply, AgentRequest } from "./requests.ts";

export interface TunnelOptions {
  /** Largest response body passed back; a bigger one becomes 502. */
  maxBodyBytes: number;
  /**
   * Where agent messages are delivered on the local service: agent requests for this path
   * (compared canonically and case-insensitively, whatever the encoding: see
   * protocol/canonical-path.ts) are refused, so no caller can pass a request off as a
   * queued message.
   */
  reservedPath?: string;
}

/**
 * Tunnel mode's request handler: each agent request to the local HTTP service at `target`,
 * and its response back as it is.
 *
 * @example
 * ```ts
 * import { connect, tunnelTo } from "impgate/device/index.ts";
 * connect(config, { request: tunnelTo("http://127.0.0.1:8080", { maxBodyBytes: config.maxBodyBytes }) });
 * ```
 */
export function tunnelTo(target: string, options: TunnelOptions): (req: AgentRequest) => Promise<AgentReply> {
  const base = new URL(target);
  const client = base.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const reserved = options.reservedPath;
  return (req) =>
    new Promise<AgentReply>((resolve) => {
      // The edge sends canonical paths; checked again here, as the last gate before the service.
      const canonical = canonicalPath(req.path);
      if (!canonical.ok) {
        resolve(refusal("bad_path", `Unusable path: ${canonical.reason}`));
        return;
      }
      if (reserved && isUnderPath(canonical.path, reserved)) {
        resolve(refusal("reserved_path", "This path receives agent messages only"));
        return;
      }
      const url = new URL(base);
      url.pathname = joinPath(base.pathname, canonical.path);
      url.search = req.query;
      // impgate-* headers (any spelling) are the daemon's own (message delivery), except the edge's impgate-client.
      const headers: [string, string][] = req.headers.filter(
        ([name]) => !isHopByHop(name) && (!headerKey(name).startsWith("impgate-") || name.toLowerCase() === CLIENT_HEADER),
      );
      // Who sealed it, for a request sealed end to end: set by the daemon alone (callers' impgate-* are dropped above).
      if (req.sender) headers.push([SENDER_HEADER, req.sender]);
      // Raw (array) headers keep duplicates, but Node then adds no Host of its own.
      headers.push(["host", url.host], ["content-length", String(req.body.length)]);
      const timeout = Math.max(1, req.deadline - Date.now());
      const outgoing = client.request(url, { method: req.method, headers: headers.flat(), agent, timeout }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBodyBytes) {
            res.destroy();
            resolve(refusal("tunnel_error", "local service response too large"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            const [name = "", value = ""] = res.rawHeaders.slice(i, i + 2);
            if (!isHopByHop(name)) pairs.push([name, value]);
          }
          resolve({ status: res.statusCode ?? 502, headers: pairs, body: Buffer.concat(chunks) });
        });
        res.on("error", () => resolve(refusal("tunnel_error", "local service response failed")));
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error("timeout")));
      outgoing.on("error", (err) =>
        resolve(refusal("tunnel_error", `local service unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`)),
      );
      outgoing.end(req.body);
    });
}

const MESSAGE_TIMEOUT_MS = 30_000;

/** Tunnel mode: the thumbprint of the `e2e.senders` key that sealed a request or message. */
export const SENDER_HEADER = "impgate-sealed-sender";

/**
 * Tunnel mode's message handler: each agent message as `POST <target><messagePath>/<name>`;
 * 2xx is handled, 408/429/5xx or no answer retry later, anything else is refused for good.
 *
 * @example
 * ```ts
 * import { connect, forwardMessagesTo, tunnelTo } from "impgate/device/index.ts";
 * const service = "http://127.0.0.1:8080";
 * connect(config, {
 *   request: tunnelTo(service, { maxBodyBytes: config.maxBodyBytes, reservedPath: config.messagePath }),
 *   message: forwardMessagesTo(service, config.messagePath),
 * });
 * ```
 */
export function forwardMessagesTo(target: string, messagePath: string): (msg: AgentMessage) => Promise<void> {
  const base = new URL(target);
  const client = base.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  return (msg) =>
    new Promise<void>((resolve, reject) => {
      const url = new URL(base);
      url.pathname = joinPath(joinPath(base.pathname, messagePath), encodeURIComponent(msg.name));
      const headers: Record<string, string> = {
        "content-length": String(msg.data.byteLength),
        "impgate-message-id": msg.id,
        "impgate-message-name": msg.name,
        "impgate-message-created": new Date(msg.createdAt).toISOString(),
        ...(msg.contentType ? { "content-type": msg.contentType } : {}),
        ...(msg.redelivered ? { "impgate-redelivered": "1" } : {}),
        ...(msg.sender ? { [SENDER_HEADER]: msg.sender } : {}),
      };
      const outgoing = client.request(url, { method: "POST", headers, agent, timeout: MESSAGE_TIMEOUT_MS }, (res) => {
        res.resume();
        res.on("end", () => {
          const status = res.statusCode ?? 502;
          if (status >= 200 && status < 300) resolve();
          else if (status === 408 || status === 429 || status >= 500) reject(new RetryLater(`local service answered ${status}`));
          else reject(new Error(`local service refused the message (${status})`));
        });
        res.on("error", () => reject(new RetryLater("local service response failed")));
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error("timeout")));
      outgoing.on("error", (err) =>
        reject(new RetryLater(`local service unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`)),
      );
      outgoing.end(msg.data);
    });
}

function joinPath(basePath: string, path: string): string {
  return basePath.replace(/\/$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

/** The daemon's own refusal, in the one error shape (protocol/errors.ts). */
function refusal(code: ErrorCode, message: string): AgentReply {
  return { status: statusOf(code), headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code, message } }) };
}
