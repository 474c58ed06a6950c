/**
 * A small HTTPS client over node:https: the CLI must be able to trust a development CA
 * (a PEM file) without touching the system store, which `fetch` cannot do per request.
 */
import https from "node:https";
import { CliError } from "./errors.ts";
import { tlsHint } from "./hints.ts";
import type { Trust } from "./profile.ts";

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** What to trust instead of the system store, and where it came from (named when TLS fails). */
  trust?: Trust;
  timeoutMs?: number;
}

export function httpRequest(url: string | URL, options: HttpOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  if (target.protocol !== "https:")
    return Promise.reject(new CliError(`refusing to send credentials over ${target.protocol} (use https://)`));
  return new Promise((resolve, reject) => {
    const req = https.request(
      target,
      { method: options.method ?? "GET", headers: options.headers, ca: options.trust?.ca, timeout: options.timeoutMs ?? 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new CliError(`${target.origin} did not answer in time`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err instanceof CliError) return reject(err);
      const hint = tlsHint(target.origin, err.code, options.trust ?? { source: "the system's CA store" });
      reject(new CliError(hint ?? `cannot reach ${target.origin}: ${err.code ?? err.message}`));
    });
    req.end(options.body);
  });
}
