/**
 * The demo imp's local service: what a device would expose on its own loopback.
 * Every request gets a JSON hello. With `eventsUrl` (the daemon's events endpoint, see
 * `impgate-device --events-port`) it also publishes a `temperature` event every
 * `everyMs`, and at once when asked (`POST /temperature` through the agent URL), so
 * `GET $AGENT/_events?name=temperature&wait=30` has something to wait for.
 */
import http from "node:http";

export interface DemoServiceOptions {
  /** The daemon's events endpoint, `http://127.0.0.1:<port>`. */
  eventsUrl?: string;
  /** How often to publish a reading. */
  everyMs?: number;
}

export interface DemoService {
  port: number;
  close: () => Promise<void>;
}

/** A plausible reading: 21 °C give or take. */
function reading(): { c: number; at: string } {
  return { c: Math.round((21 + Math.sin(Date.now() / 600_000) * 2 + Math.random() * 0.2) * 10) / 10, at: new Date().toISOString() };
}

/** Publishes one reading; resolves with the daemon's status (200 stored, 202 buffered), or 0 if it is not there. */
function publish(eventsUrl: string, data: object): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(`${eventsUrl}/events/temperature`, { method: "POST", headers: { "content-type": "application/json" } });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The daemon may not be listening yet (or any more): the next reading tries again.
    req.on("error", () => resolve(0));
    req.setTimeout(5000, () => req.destroy());
    req.end(JSON.stringify(data));
  });
}

export function startDemoService(options: DemoServiceOptions = {}): Promise<DemoService> {
  const { eventsUrl } = options;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (eventsUrl && req.method === "POST" && req.url === "/temperature") {
        const data = reading();
        void publish(eventsUrl, data).then((status) => res.end(`${JSON.stringify({ published: "temperature", data, status })}\n`));
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
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
  const timer = eventsUrl ? setInterval(() => void publish(eventsUrl, reading()), options.everyMs ?? 10_000) : undefined;
  timer?.unref();
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise((r) => {
            clearInterval(timer);
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
