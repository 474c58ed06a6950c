/**
 * Bench child: the device of the two reference relays. One websocket over TLS (trusting
 * the dev CA), no handshake, no pinning; every request gets the same small reply that
 * impgate's benchmark device gives (bench/fleet/host.ts), so the rows compare like with like.
 */
import WebSocket from "ws";
import { serve } from "../ipc.ts";
import { BENCH_REPLY } from "../reply.ts";
import { decode, encode, type TinyRequest } from "./wire.ts";

let ws: WebSocket | undefined;
const body = new TextEncoder().encode(BENCH_REPLY.body);

function start(args: { url: string; ca: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    ws = new WebSocket(args.url, { ca: args.ca, perMessageDeflate: false });
    ws.on("open", () => resolve());
    ws.on("error", reject);
    ws.on("message", (data) => {
      const { head } = decode<TinyRequest>(data as Buffer);
      ws!.send(encode({ id: head.id, status: BENCH_REPLY.status, headers: BENCH_REPLY.headers }, body));
    });
  });
}

serve({ start }, () => {
  ws?.terminate();
});
