/**
 * What the worker owes an imp's object but must not wake it for each time: the audit
 * entries of refusals it decided alone (./auth/failure-audit.ts) and the lines of the live
 * request log it writes (./tail-lines.ts). Items are batched per imp in this isolate and
 * sent in the background: the first at once, then at most one batch per window per imp.
 * A batch holds at most `maxItems`; the rest are counted as dropped and the count goes
 * with the next batch. Past `maxImps` imps, the oldest batch is forgotten.
 */

export type SendBatch<T> = (items: T[], dropped: number) => Promise<unknown>;

interface Batch<T> {
  items: T[];
  dropped: number;
  lastFlush: number;
  scheduled: boolean;
}

export class ImpBatches<T> {
  readonly #windowMs: number;
  readonly #maxItems: number;
  readonly #maxImps: number;
  readonly #batches = new Map<string, Batch<T>>();

  constructor(options: { windowMs: number; maxItems: number; maxImps?: number }) {
    this.#windowMs = options.windowMs;
    this.#maxItems = options.maxItems;
    this.#maxImps = options.maxImps ?? 1_000;
  }

  /** Adds `item` to imp `impId`'s batch; `send` delivers the batch if this item starts one. */
  add(waitUntil: (p: Promise<unknown>) => void, impId: string, item: T, send: SendBatch<T>): void {
    let batch = this.#batches.get(impId);
    if (!batch) {
      if (this.#batches.size >= this.#maxImps) {
        // A batch already scheduled still goes out: its flush holds it.
        const oldest = this.#batches.keys().next().value;
        if (oldest !== undefined) this.#batches.delete(oldest);
      }
      batch = { items: [], dropped: 0, lastFlush: 0, scheduled: false };
      this.#batches.set(impId, batch);
    }
    if (batch.items.length < this.#maxItems) batch.items.push(item);
    else batch.dropped++;
    if (batch.scheduled) return;
    batch.scheduled = true;
    const b = batch;
    const wait = Math.max(0, b.lastFlush + this.#windowMs - Date.now());
    waitUntil(
      new Promise((r) => setTimeout(r, wait))
        .then(() => {
          const items = b.items.splice(0);
          const dropped = b.dropped;
          b.dropped = 0;
          b.scheduled = false;
          b.lastFlush = Date.now();
          return send(items, dropped);
        })
        // Best effort: an object that cannot be reached loses these, as a log line would.
        .catch(() => {}),
    );
  }
}
