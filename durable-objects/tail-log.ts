/**
 * The imp's live request log: one line per agent request, sent to the tail sockets open on
 * the object (`impgate tail`, ./facades/tail.ts; the wire format is protocol/tail.ts).
 * Nothing is stored: a line nobody reads is never made.
 *
 * The relay's hot path asks `active` before it builds a line. That reads a count kept in
 * memory, learnt from the runtime once per wake and forgotten whenever a tail socket opens
 * or closes, so an imp nobody tails pays one property read per request.
 *
 * A slow reader cannot make the object buffer without bound: each socket has at most
 * TAIL_WINDOW lines unacknowledged; past that, lines are dropped and counted, and the count
 * is sent once the reader acknowledges. The counts live in memory: an object only
 * hibernates when nothing has happened for a while, by which time its readers caught up.
 */
import type { AgentCall, RelayReply, RelayRequest } from "../edge/agent-call.ts";
import type { Result } from "../edge/errors.ts";
import { statusOf } from "../protocol/errors.ts";
import type { TailFrame, TailLine } from "../protocol/tail.ts";

/** The tag of tail sockets; the device's socket has its own (./device-link.ts): never mixed up. */
export const TAIL_TAG = "tail";
/** How many tail sockets one imp may have open. */
export const MAX_TAILS = 8;
/** Lines a reader may leave unacknowledged before the next ones are dropped. */
export const TAIL_WINDOW = 64;
/** The request the worker sends the object to open a tail socket (the device's is `/device/…`). */
export const TAIL_URL = "https://imp.invalid/_impgate/tail";

interface Flow {
  /** The seq of the last line sent. */
  sent: number;
  /** The highest seq the reader acknowledged. */
  acked: number;
  /** Lines dropped since the reader was last told. */
  dropped: number;
}

export class TailLog {
  readonly #ctx: DurableObjectState;
  /** Open tail sockets; undefined until asked, and again whenever one opens or closes. */
  #count: number | undefined;
  readonly #flows = new WeakMap<WebSocket, Flow>();

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  /** Whether anyone tails this imp. */
  get active(): boolean {
    this.#count ??= this.#ctx.getWebSockets(TAIL_TAG).length;
    return this.#count > 0;
  }

  get open(): number {
    return this.#ctx.getWebSockets(TAIL_TAG).length;
  }

  /** A tail socket opened, closed or failed: count again when next asked. */
  changed(): void {
    this.#count = undefined;
  }

  /**
   * A caller's request to the agent URL as the object answered it: relayed to the device or
   * the agent code, or refused at admission. `credId`: the credential it was admitted with.
   */
  relayed(call: AgentCall, req: RelayRequest, result: Result<RelayReply>, credId: string | null, startedAt: number): void {
    if (!this.active) return;
    // The status the worker answers with (worker/relay.ts: a status below 200 becomes 502).
    const status = result.ok ? (result.value.status < 200 ? 502 : result.value.status) : statusOf(result.code);
    this.publish([
      {
        at: startedAt,
        method: req.method,
        path: req.path,
        query: req.query !== "",
        status,
        ms: Date.now() - startedAt,
        cred: credId ?? (call.caller.kind === "bearer" ? call.caller.credId : null),
        ...(result.ok ? {} : { code: result.code }),
      },
    ]);
  }

  /** Lines to every reader; `dropped`: lines lost before they got here (the worker's batches are bounded too). */
  publish(lines: TailLine[], dropped = 0): void {
    for (const ws of this.#ctx.getWebSockets(TAIL_TAG)) {
      const flow = this.#flow(ws);
      flow.dropped += dropped;
      for (const line of lines) {
        if (flow.sent - flow.acked >= TAIL_WINDOW) {
          flow.dropped++;
          continue;
        }
        flow.sent++;
        if (!this.send(ws, { t: "line", seq: flow.sent, line })) break;
      }
      this.#report(ws, flow);
    }
  }

  /** The reader read up to `seq` (never more than was sent: after a wake the count starts again). */
  ack(ws: WebSocket, seq: number): void {
    const flow = this.#flow(ws);
    flow.acked = Math.max(flow.acked, Math.min(seq, flow.sent));
    this.#report(ws, flow);
  }

  send(ws: WebSocket, frame: TailFrame): boolean {
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      // Gone: its close handler will follow; count again meanwhile.
      this.changed();
      return false;
    }
  }

  /** Tells a reader how many lines it missed, once it has room for the news. */
  #report(ws: WebSocket, flow: Flow): void {
    if (flow.dropped === 0 || flow.sent - flow.acked >= TAIL_WINDOW) return;
    if (this.send(ws, { t: "dropped", count: flow.dropped })) flow.dropped = 0;
  }

  #flow(ws: WebSocket): Flow {
    let flow = this.#flows.get(ws);
    if (!flow) {
      flow = { sent: 0, acked: 0, dropped: 0 };
      this.#flows.set(ws, flow);
    }
    return flow;
  }
}
