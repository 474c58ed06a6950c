/**
 * Agent requests waiting for the device's reply, correlated by message id. Lives in
 * memory only: a waiting request keeps its object awake, so nothing here must survive
 * hibernation, and a timer per request is the natural deadline.
 */
import type { MessageOf } from "../protocol/index.ts";

export type Outcome =
  | { kind: "reply"; msg: MessageOf<"res">; body: Uint8Array }
  | { kind: "timeout" }
  | { kind: "device_gone" };

interface Waiter {
  ws: WebSocket;
  settle: (outcome: Outcome) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>();

  wait(id: string, ws: WebSocket, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, { kind: "timeout" }), timeoutMs);
      this.waiters.set(id, { ws, timer, settle: resolve });
    });
  }

  /** Delivers a reply; false if nobody waits for that id (late, unknown or duplicate). */
  reply(id: string, msg: MessageOf<"res">, body: Uint8Array): boolean {
    return this.settle(id, { kind: "reply", msg, body });
  }

  /** Every request sent on `ws` fails at once: the socket it depended on is gone. */
  failSocket(ws: WebSocket): void {
    for (const [id, waiter] of this.waiters) if (waiter.ws === ws) this.settle(id, { kind: "device_gone" });
  }

  get size(): number {
    return this.waiters.size;
  }

  private settle(id: string, outcome: Outcome): boolean {
    const waiter = this.waiters.get(id);
    if (!waiter) return false;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.settle(outcome);
    return true;
  }
}
