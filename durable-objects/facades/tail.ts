/**
 * The live request log's side of the imp's object: tail sockets and the lines the worker
 * sends in. The worker opens a socket through `openTailSocket` (worker/tail-socket.ts),
 * after the admin (or the console) authenticated; here it is accepted with the hibernation
 * API and its own tag, so an imp with readers still sleeps when idle, and no tail socket
 * is ever taken for the device's. What goes down it: ../tail-log.ts, protocol/tail.ts.
 *
 * Handlers never throw: a reader that sends anything but an ack is closed with 1008.
 */
import { RpcTarget } from "cloudflare:workers";
import { DONE, errorResponse, type Result } from "../../edge/errors.ts";
import { parseTailAck, type TailLine } from "../../protocol/tail.ts";
import { closeQuietly } from "../device-link.ts";
import type { ImpParts } from "../imp-parts.ts";
import { MAX_TAILS, TAIL_TAG, TAIL_URL, TAIL_WINDOW } from "../tail-log.ts";

/** At most this many lines of one batch from the worker are sent on; the rest are counted as dropped. */
const MAX_BATCH = 100;

/** Whether a request the object got is the worker opening a tail socket (the only other is the device's connect). */
export function isTailRequest(request: Request): boolean {
  return request.url === TAIL_URL;
}

/** Whether a socket of the object is a tail socket, by the tag it was accepted with. */
export function isTailSocket(ctx: DurableObjectState, ws: WebSocket): boolean {
  return ctx.getTags(ws).includes(TAIL_TAG);
}

export class TailSockets {
  readonly #parts: ImpParts;

  constructor(parts: ImpParts) {
    this.#parts = parts;
  }

  /** Accepts a reader: the imp must exist, and have fewer than MAX_TAILS readers. */
  async connect(): Promise<Response> {
    const { ctx, tail } = this.#parts;
    const imp = await this.#parts.record.get();
    if (!imp) return errorResponse("imp_not_found", "No such imp");
    if (tail.open >= MAX_TAILS) return errorResponse("too_many_tails", `This imp already has ${MAX_TAILS} tails open`);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    ctx.acceptWebSocket(server, [TAIL_TAG]);
    tail.changed();
    tail.send(server, { t: "hello", impId: imp.impId, window: TAIL_WINDOW });
    return new Response(null, { status: 101, webSocket: client });
  }

  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const ack = parseTailAck(data);
    if (ack) this.#parts.tail.ack(ws, ack.seq);
    else closeQuietly(ws, 1008, "a tail reader sends acks only");
  }

  close(ws: WebSocket, code: number): void {
    this.#parts.tail.changed();
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  error(): void {
    this.#parts.tail.changed();
  }
}

/** What the worker may do with the log over RPC: hand in the lines of the requests the relay did not take (worker/tail-lines.ts). */
export class ImpRequestLog extends RpcTarget {
  readonly #parts: ImpParts;

  constructor(parts: ImpParts) {
    super();
    this.#parts = parts;
  }

  async publish(lines: TailLine[], dropped: number): Promise<Result<null>> {
    const { tail } = this.#parts;
    if (tail.active) tail.publish(lines.slice(0, MAX_BATCH), dropped + Math.max(0, lines.length - MAX_BATCH));
    return DONE;
  }
}
