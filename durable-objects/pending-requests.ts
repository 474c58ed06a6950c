/**
 * Agent requests waiting for the device's reply, correlated by message id. Lives in
 * memory only: a waiting request keeps its object awake, so nothing here must survive
 * hibernation, and an in-memory timer is the natural deadline. One timer serves every
 * waiting request (armed for the earliest deadline), not one per request: timers are
 * not free in the runtime, and this is on every request's path.
 */
import type { MessageOf } from "../protocol/index.ts";

/** How a waiting request ends: the device's reply, its deadline, the loss of its socket, or the device gone silent. */
export type Settled =
  | { kind: "reply"; msg: MessageOf<"res">; body: Uint8Array }
  | { kind: "timeout" }
  | { kind: "device_gone" }
  | { kind: "device_silent" };

interface Waiter {
  ws: WebSocket;
  settle: (settled: Settled) => void;
  deadline: number;
}

export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDue = Infinity;

  wait(id: string, ws: WebSocket, timeoutMs: number): Promise<Settled> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      this.waiters.set(id, { ws, deadline, settle: resolve });
      if (deadline < this.timerDue) this.arm(deadline);
    });
  }

  /** Delivers a reply; false if nobody waits for that id (late, unknown or duplicate). */
  reply(id: string, msg: MessageOf<"res">, body: Uint8Array): boolean {
    return this.settle(id, { kind: "reply", msg, body });
  }

  /** Every request sent on `ws` fails at once: the socket it depended on is gone (or its device went silent). */
  failSocket(ws: WebSocket, why: "device_gone" | "device_silent" = "device_gone"): void {
    for (const [id, waiter] of this.waiters) if (waiter.ws === ws) this.settle(id, { kind: why });
  }

  private settle(id: string, settled: Settled): boolean {
    const waiter = this.waiters.get(id);
    if (!waiter) return false;
    this.waiters.delete(id);
    if (this.waiters.size === 0) this.disarm();
    waiter.settle(settled);
    return true;
  }

  /** Times out every request past its deadline, then re-arms for the next one. */
  private expire(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [id, waiter] of this.waiters) {
      if (waiter.deadline <= now) this.settle(id, { kind: "timeout" });
      else next = Math.min(next, waiter.deadline);
    }
    if (next !== Infinity) this.arm(next);
  }

  private arm(due: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.expire(), Math.max(0, due - Date.now()));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }
}
