/**
 * The control relay: the architecture alone, on the same runtime as impgate. The worker
 * hands every request to one Durable Object, which sends it over a hibernatable websocket
 * to the tiny device client and returns its reply. No auth, no id checks, no schema, no
 * deadlines: what is left is the cost of worker → Durable Object → websocket → back.
 * `/device/<name>` connects an idle device to its own object, for the memory comparison.
 */
import { DurableObject } from "cloudflare:workers";
import { decode, encode, type TinyReply } from "../tiny-device/wire.ts";

interface Env {
  RELAY: DurableObjectNamespace<Relay>;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const device = /^\/device\/([^/]+)$/.exec(new URL(request.url).pathname)?.[1];
    return env.RELAY.getByName(device ?? "relay").fetch(request);
  },
} satisfies ExportedHandler<Env>;

const EMPTY = new Uint8Array(0);

export class Relay extends DurableObject<Env> {
  private nextId = 0;
  private readonly waiting = new Map<number, (response: Response) => void>();

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/device")) {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const ws = this.ctx.getWebSockets()[0];
    if (!ws) return new Response("no device", { status: 503 });
    const id = ++this.nextId;
    const body = request.method === "GET" || request.method === "HEAD" ? EMPTY : new Uint8Array(await request.arrayBuffer());
    const reply = new Promise<Response>((resolve) => this.waiting.set(id, resolve));
    ws.send(encode({ id, method: request.method, path: url.pathname + url.search, headers: [...request.headers] }, body));
    return reply;
  }

  webSocketMessage(_ws: WebSocket, data: string | ArrayBuffer): void {
    if (typeof data === "string") return;
    const { head, body } = decode<TinyReply>(data);
    const resolve = this.waiting.get(head.id);
    this.waiting.delete(head.id);
    resolve?.(new Response(body, { status: head.status, headers: head.headers }));
  }

  webSocketClose(ws: WebSocket): void {
    for (const resolve of this.waiting.values()) resolve(new Response("device gone", { status: 502 }));
    this.waiting.clear();
    ws.close();
  }
}
