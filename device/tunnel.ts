/**
 * Tunnel mode: each agent request becomes a request to a local HTTP service, and its
 * response (status, headers, body) goes back unchanged. node:http rather than fetch, so
 * bodies pass through byte for byte (no transparent decompression).
 */
import http from "node:http";
import https from "node:https";
import type { AgentReply, AgentRequest } from "./link.ts";

const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "content-length",
]);

export interface TunnelOptions {
  /** Largest response body passed back; a bigger one becomes 502. */
  maxBodyBytes: number;
}

export function tunnelTo(target: string, options: TunnelOptions): (req: AgentRequest) => Promise<AgentReply> {
  const base = new URL(target);
  const client = base.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  return (req) =>
    new Promise<AgentReply>((resolve) => {
      const url = new URL(base);
      url.pathname = joinPath(base.pathname, req.path);
      url.search = req.query;
      const headers: [string, string][] = req.headers.filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()));
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
            resolve(failure(502, "local service response too large"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i]!;
            if (!HOP_BY_HOP.has(name.toLowerCase())) pairs.push([name, res.rawHeaders[i + 1]!]);
          }
          resolve({ status: res.statusCode ?? 502, headers: pairs, body: Buffer.concat(chunks) });
        });
        res.on("error", () => resolve(failure(502, "local service response failed")));
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error("timeout")));
      outgoing.on("error", (err) => resolve(failure(502, `local service unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
      outgoing.end(req.body);
    });
}

function joinPath(basePath: string, path: string): string {
  return basePath.replace(/\/$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

function failure(status: number, message: string): AgentReply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code: "tunnel_error", message } }) };
}
