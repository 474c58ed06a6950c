/** The demo imp's local service: what a device would expose on its own loopback. */
import http from "node:http";

export function startDemoService(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      res.setHeader("content-type", "application/json");
      res.end(
        `${JSON.stringify({
          hello: "from the device",
          method: req.method,
          path: req.url,
          received: body.length ? body : undefined,
          time: new Date().toISOString(),
        })}\n`,
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
