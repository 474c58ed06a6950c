/**
 * Bench child: the device of the two reference relays. One websocket over TLS (trusting
 * the dev CA), no handshake, no pinning; every request gets the same small reply that
 * impgate's benchmark device gives (bench/fleet/host.ts), so the rows compare like with like.
 * `idle` opens many sockets that stay quiet: the control relay's fleet, for memory.
 */
import WebSocket from "ws";
import { serve } from "../ipc.ts";
import { BENCH_REPLY } from "../reply.ts";
import { decode, encode, type TinyRequest } from "./wire.ts";

let ws: WebSocket | undefined;
const idleSockets: WebSocket[] = [];
const body = new TextEncoder().encode(BENCH_REPLY.body);

function start(args: { url: string; ca: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    ws = new WebSocket(args.url, { ca: args.ca, perMessageDeflate: false });
    ws.on("open", () => resolve());
    ws.on("error", reject);
    ws.on("message", (data) => {
      const { head, body: received } = decode<TinyRequest>(data as Buffer);
      // `/echo`: the request's body back, as impgate's bench device does (bench/fleet/host.ts).
      const reply = head.path === "/echo" ? received : body;
      ws!.send(encode({ id: head.id, status: BENCH_REPLY.status, headers: BENCH_REPLY.headers }, reply));
    });
  });
}

/** Opens `count` quiet sockets to `${url}/<i>`, `concurrency` at a time; resolves with how many opened. */
async function idle(args: { url: string; ca: string; count: number; concurrency: number }): Promise<number> {
  let next = 0;
  let opened = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(`${args.url}/${i}`, { ca: args.ca, perMessageDeflate: false });
      idleSockets.push(socket);
      socket.once("open", () => {
        opened++;
        resolve();
      });
      socket.once("error", () => resolve());
    });
  const worker = async () => {
    while (next < args.count) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count) }, worker));
  return opened;
}

serve({ start, idle }, () => {
  ws?.terminate();
  for (const socket of idleSockets) socket.terminate();
});
