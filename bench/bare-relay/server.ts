/**
 * Bench child: the machine's floor for this shape. A bare Node HTTPS server that forwards
 * each request over one websocket (ws, the device side's library) to the tiny device
 * client and answers with its reply. No runtime, no Durable Object, no checks.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { serve } from "../ipc.ts";
import { decode, encode, type TinyReply } from "../tiny-device/wire.ts";

let server: https.Server | undefined;

function start(args: { key: string; cert: string }): Promise<{ origin: string }> {
  const waiting = new Map<number, (reply: { head: TinyReply; body: Uint8Array }) => void>();
  let device: WebSocket | null = null;
  let nextId = 0;

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    device = ws;
    ws.on("message", (data) => {
      const reply = decode<TinyReply>(data as Buffer);
      const resolve = waiting.get(reply.head.id);
      waiting.delete(reply.head.id);
      resolve?.(reply);
    });
    ws.on("close", () => {
      if (device === ws) device = null;
      for (const resolve of waiting.values()) resolve({ head: { id: 0, status: 502, headers: [] }, body: new Uint8Array(0) });
      waiting.clear();
    });
  });

  server = https.createServer({ key: args.key, cert: args.cert, keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!device) {
        res.writeHead(503).end("no device");
        return;
      }
      const id = ++nextId;
      waiting.set(id, ({ head, body }) => {
        res.writeHead(head.status, head.headers.flat());
        res.end(body);
      });
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      device.send(encode({ id, method: req.method!, path: req.url!, headers }, Buffer.concat(chunks)));
    });
  });
  server.on("upgrade", (req, socket, head) => {
    if (req.url !== "/device") return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  return new Promise((resolve) => {
    server!.listen(0, "127.0.0.1", () => resolve({ origin: `https://127.0.0.1:${(server!.address() as AddressInfo).port}` }));
  });
}

serve({ start }, () => {
  server?.closeAllConnections();
  server?.close();
});
