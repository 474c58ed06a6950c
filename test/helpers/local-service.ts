/** A local HTTP service for tunnel mode that records what it received. */
import http from "node:http";

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface LocalService {
  port: number;
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export function startLocalService(
  handler: (req: Received, res: http.ServerResponse) => void = (req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "x-seen-method": req.method });
    res.end(req.body);
  },
): Promise<LocalService> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      handler(r, res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        received,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
