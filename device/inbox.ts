/**
 * Agent messages on the device: handled one at a time, in the order the edge sent them,
 * acknowledged only after the handler ran and its id was recorded on disk. A message
 * the edge sends again (its ack was lost in a disconnect) is recognised by id and only
 * acknowledged.
 *
 * A handler that throws `RetryLater` gets the same message again after a pause (while
 * the link lasts; after a reconnect the edge sends it again anyway). Any other error
 * is logged and the message counts as handled, so one bad message cannot block the
 * queue behind it.
 *
 * A message whose TTL ran out before its handler could start (it waited behind a slow
 * one: the edge sends several ahead) or while its handler kept asking to retry is
 * dropped unhandled and acknowledged as expired: an expired message is never delivered.
 * The deadline is measured from the frame's arrival on a monotonic clock, so neither a
 * device clock that disagrees with the edge's nor one that jumps (NTP at boot) matters.
 * A message that expires while it waits is acknowledged as expired at once, not when its
 * turn comes, so the edge can say so while the slow one still runs.
 *
 * A handler starts only while the link the message came on is alive (ready, and its
 * heartbeat answered in time): the edge keeps the status of a message it sent open until
 * the device acknowledges it, and a message read from a link the edge had given up on
 * (the daemon was frozen) is not run late: the edge sends it again on the next link.
 */
import type { MessageOf } from "../protocol/index.ts";
import { Backoff } from "./backoff.ts";
import type { Logger } from "./log.ts";
import type { ProcessedMessages } from "./processed-messages.ts";

/**
 * An agent message, as a message handler gets it.
 *
 * @example
 * ```ts
 * import type { AgentMessage } from "impgate/device/index.ts";
 * function doorCommand(msg: AgentMessage): { door: number } {
 *   return JSON.parse(new TextDecoder().decode(msg.data)); // contentType "application/json"
 * }
 * ```
 */
export interface AgentMessage {
  id: string;
  name: string;
  contentType: string | null;
  data: Uint8Array;
  /** When the edge accepted it (epoch ms). */
  createdAt: number;
  /** When its TTL runs out (epoch ms, the edge's clock); past it the message is dropped unhandled. */
  expiresAt: number;
  /**
   * True when a handler already started on this message and the daemon stopped before
   * it finished: the work may be partly or wholly done.
   */
  redelivered: boolean;
  /**
   * For a message sealed end to end: who sealed it, the RFC 7638 thumbprint of a key in
   * the config's `e2e.senders` (tunnel mode: `Impgate-Sealed-Sender`). Absent: plaintext.
   */
  sender?: string;
}

/**
 * Handles each agent message once, in order; the message is acknowledged when this returns
 * (or throws anything but RetryLater, which is logged).
 *
 * @example
 * ```ts
 * import { connect, type MessageHandler } from "impgate/device/index.ts";
 * const message: MessageHandler = async (msg) => {
 *   if (msg.redelivered) return; // this handler's effect must not repeat
 *   await openDoor(msg.data);
 * };
 * connect(config, { message });
 * ```
 */
export type MessageHandler = (msg: AgentMessage) => void | Promise<void>;

/**
 * Thrown by a handler that cannot take the message now (its service is down): the message
 * is handed over again after a pause, not acknowledged.
 *
 * @example
 * ```ts
 * import { connect, RetryLater } from "impgate/device/index.ts";
 * connect(config, {
 *   message: async (msg) => {
 *     if (!(await door.ready())) throw new RetryLater("the door controller is rebooting");
 *     await door.apply(msg.data);
 *   },
 * });
 * ```
 */
export class RetryLater extends Error {
  constructor(message = "retry later") {
    super(message);
    this.name = "RetryLater";
  }
}

interface Item {
  msg: MessageOf<"msg">;
  data: Uint8Array;
  /** The link generation it arrived on; a message from an earlier link will be sent again. */
  generation: number;
  /** Its TTL's end on the monotonic clock (performance.now() at arrival + expiresIn). */
  deadline: number;
  /** Acknowledges it as expired if it is still waiting when its TTL runs out. */
  expiry?: NodeJS.Timeout;
}

/** Acknowledges message `id` to the edge: handled, or (`expired`) dropped unhandled. */
export type Acknowledge = (id: string, expired?: boolean) => void;

export class Inbox {
  private readonly store: ProcessedMessages;
  private readonly handler: MessageHandler;
  private readonly log: Logger;
  private readonly ack: Acknowledge;
  private readonly items: Item[] = [];
  private generation = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private wakeRetry: (() => void) | null = null;
  /** Whether the current link is alive; a handler never starts on a dead one. */
  private readonly live: () => boolean;

  constructor(store: ProcessedMessages, handler: MessageHandler, ack: Acknowledge, log: Logger, live: () => boolean = () => true) {
    this.store = store;
    this.handler = handler;
    this.ack = ack;
    this.log = log;
    this.live = live;
  }

  /** A new link is up (or the old one went down): what arrived before is stale. */
  newLink(): void {
    this.generation++;
    this.wakeRetry?.();
  }

  receive(msg: MessageOf<"msg">, data: Uint8Array): void {
    const item: Item = { msg, data, generation: this.generation, deadline: performance.now() + msg.expiresIn };
    this.items.push(item);
    if (this.running) {
      item.expiry = setTimeout(() => this.expireWaiting(item), msg.expiresIn);
      item.expiry.unref();
    }
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** A message whose TTL ran out while it waited behind a running one: acknowledged as expired now. */
  private expireWaiting(item: Item): void {
    const at = this.items.indexOf(item);
    // The first item is the one being handled; a later one has not started. One handled
    // before (sent again after a lost ack) waits for its turn to be acknowledged as such.
    if (at < 1 || this.store.has(item.msg.id)) return;
    this.items.splice(at, 1);
    // From an earlier link it is simply dropped: the edge sends it again, and it expires then.
    if (item.generation === this.generation) this.dropExpired(item.msg, "while it waited");
  }

  /** Stops taking messages; resolves once a running handler has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeRetry?.();
    await this.running;
  }

  private async drain(): Promise<void> {
    const backoff = new Backoff(1_000, 30_000);
    for (let item = this.items[0]; item && !this.stopped; item = this.items[0]) {
      clearTimeout(item.expiry);
      if (item.generation === this.generation) {
        try {
          await this.handle(item);
          backoff.reset();
        } catch (err) {
          // Only the state file fails here (disk full, read-only). Acknowledging without it
          // could repeat work after a reboot, and skipping ahead would break the order:
          // the same message is tried again.
          this.log("error", "cannot record message progress on disk; retrying", { id: item.msg.id, error: String(err) });
          await this.pause(backoff.next() + 500);
          continue;
        }
      }
      this.items.shift();
    }
  }

  private async handle({ msg, data, generation, deadline }: Item): Promise<void> {
    if (this.store.has(msg.id)) {
      await this.store.flush();
      this.ack(msg.id);
      return;
    }
    if (performance.now() >= deadline) {
      this.dropExpired(msg, "before its handler could run");
      return;
    }
    // The link it came on died (or is dying) unnoticed: the edge will send it again.
    if (generation !== this.generation || !this.live()) return;
    const message: AgentMessage = {
      id: msg.id,
      name: msg.name,
      contentType: msg.contentType ?? null,
      data,
      createdAt: msg.createdAt,
      expiresAt: msg.expiresAt,
      redelivered: this.store.interrupted(msg.id),
    };
    await this.store.begin(msg.id);
    const backoff = new Backoff(1_000, 30_000);
    for (;;) {
      const started = Date.now();
      try {
        await this.handler(message);
        this.log("debug", "message handled", { id: msg.id, name: msg.name, ms: Date.now() - started });
        break;
      } catch (err) {
        if (!(err instanceof RetryLater)) {
          this.log("error", "message handler failed; message dropped", { id: msg.id, name: msg.name, error: String(err) });
          break;
        }
        this.log("warn", "message handler asked to retry later", { id: msg.id, name: msg.name, reason: err.message });
        await this.pause(backoff.next() + 500);
        // The link changed or died, or the daemon is stopping: the edge will send it again, flagged redelivered.
        if (this.stopped || generation !== this.generation || !this.live()) return;
        if (performance.now() >= deadline) {
          // Recorded as done so that nothing runs it again; the ack says it was not delivered.
          await this.store.finish(msg.id);
          this.dropExpired(msg, "while its handler asked to retry later");
          return;
        }
        message.redelivered = true;
      }
    }
    await this.store.finish(msg.id);
    this.ack(msg.id);
  }

  private dropExpired(msg: MessageOf<"msg">, when: string): void {
    this.log("warn", `message expired ${when}; dropped unhandled`, { id: msg.id, name: msg.name, expiresAt: msg.expiresAt });
    this.ack(msg.id, true);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeRetry?.(), ms);
      this.wakeRetry = () => {
        clearTimeout(timer);
        this.wakeRetry = null;
        resolve();
      };
    });
  }
}
