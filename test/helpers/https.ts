/** HTTPS requests as a careful caller makes them: trusting only the given CA, always with a timeout. */
import https from "node:https";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  ca: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  timeoutMs?: number;
  /** Default: a fresh connection per request. */
  agent?: https.Agent;
}

/** An HTTPS request to `url` trusting only `ca`. */
export function request(url: string, options: RequestOptions): Promise<Reply> {
  const { pathname, search } = new URL(url);
  return rawRequest(url, `${pathname}${search}`, options);
}

/**
 * A request whose path goes on the wire exactly as given (no normalisation by the client), as
 * a hand-made attack would send it. `origin` is where it goes.
 */
export function rawRequest(origin: string, path: string, options: RequestOptions): Promise<Reply> {
  const { hostname, port } = new URL(origin);
  const method = options.method ?? "GET";
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: hostname,
        port,
        path,
        method,
        headers: options.headers,
        ca: options.ca,
        timeout: options.timeoutMs ?? 20_000,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${origin}${path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
