/**
 * Tunnel mode's way for the local service to publish device events: the daemon listens
 * on loopback and takes `POST /events/<name>` with the body as the event's data and its
 * Content-Type kept. It is `link.send()` over HTTP, with the same limits and buffering:
 *
 *   200 {"status":"stored"}    the edge stored it (within STORE_WAIT_MS)
 *   202 {"status":"buffered"}  not stored yet (the link is down or slow): it waits in the
 *                              daemon's buffer and goes out when the link is back
 *   400 bad name, 413 data over 64 KiB (refused before it is read), 507 buffer full,
 *   422 the edge refused it, 503 the daemon is stopping
 *
 * Only this machine may publish: the socket listens on 127.0.0.1 only and refuses a
 * non-loopback peer; a request whose Host is not a loopback name (DNS rebinding) or that
 * carries an Origin (a web page in a browser on the device) is refused with 403.
 */
import http from "node:http";
import { type ErrorCode, MAX_DATA_BYTES, NAME_PATTERN, statusOf } from "../protocol/index.ts";
import type { Logger } from "./log.ts";
import { EventError } from "./outbox.ts";

/** How long a request waits for the edge's ack before it answers 202 (buffered). */
const STORE_WAIT_MS = 2_000;

export interface EventSink {
  send(name: string, data: Uint8Array, options: { contentType?: string }): Promise<void>;
}

export interface EventsEndpoint {
  port: number;
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_PEER = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

function answer(res: http.ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(`${JSON.stringify(body)}\n`);
}

function refuse(res: http.ServerResponse, code: ErrorCode, message: string): void {
  answer(res, statusOf(code), { error: { code, message } });
}

/** Bytes of a refused body still read (and dropped), so the sender sees the 413 rather than a reset. */
const DRAIN_BYTES = 1024 * 1024;

function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader("connection", "close");
  refuse(res, "too_large", `event data is limited to ${MAX_DATA_BYTES} bytes`);
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) req.destroy();
  });
  req.resume();
}

export function startEventsEndpoint(sink: EventSink, port: number, log: Logger): Promise<EventsEndpoint> {
  const server = http.createServer((req, res) => {
    void handle(sink, req, res, log).catch((err: unknown) => {
      log("error", "events endpoint failed", { error: String(err) });
      refuse(res, "internal", "the daemon could not take the event");
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const bound = (server.address() as { port: number }).port;
      resolve({
        port: bound,
        url: `http://127.0.0.1:${bound}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

async function handle(sink: EventSink, req: http.IncomingMessage, res: http.ServerResponse, log: Logger): Promise<void> {
  if (!LOOPBACK_PEER.test(req.socket.remoteAddress ?? "")) return refuse(res, "not_loopback", "events are taken from this machine only");
  if (!LOOPBACK_HOST.test(req.headers.host ?? "") || req.headers.origin !== undefined) {
    return refuse(res, "not_local", "events are taken from local programs only, not from web pages");
  }
  const match = /^\/events\/([^/?]*)(\?.*)?$/.exec(req.url ?? "");
  if (!match) return refuse(res, "not_found", "POST /events/<name> publishes an event");
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return refuse(res, "method_not_allowed", "POST /events/<name> publishes an event");
  }
  const name = match[1] ?? "";
  if (!NAME_PATTERN.test(name)) {
    return refuse(res, "bad_name", "an event name is 1-64 letters, digits and . _ : - (not first)");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // Refused before reading when the length is announced, as soon as it is passed otherwise.
  if (Number(req.headers["content-length"] ?? 0) > MAX_DATA_BYTES) return tooLarge(req, res);
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DATA_BYTES) return tooLarge(req, res);
    chunks.push(chunk);
  }
  const contentType = req.headers["content-type"] ?? "application/octet-stream";
  const stored = sink.send(name, new Uint8Array(Buffer.concat(chunks)), { contentType });
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<"buffered">((resolve) => {
    timer = setTimeout(() => resolve("buffered"), STORE_WAIT_MS);
  });
  try {
    const outcome = await Promise.race([stored.then(() => "stored" as const), waited]);
    answer(res, outcome === "stored" ? 200 : 202, { status: outcome });
    log("debug", "event published", { name, size, status: outcome });
  } catch (err) {
    const code = err instanceof EventError ? err.code : "internal";
    refuse(res, code, (err as Error).message);
    log("warn", "event refused", { name, code });
  } finally {
    clearTimeout(timer);
  }
  // After a 202 the event may still be refused by the edge; the service has its answer already.
  stored.catch((err: unknown) => log("warn", "buffered event refused", { name, error: String(err) }));
}
