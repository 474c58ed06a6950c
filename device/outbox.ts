/**
 * Device → agent events. `send()` resolves once the edge has stored the event (its
 * ack), and rejects with a clear reason if the edge refuses it.
 *
 * While the link is down, events wait in memory, in order, and go out when it is back;
 * events sent but not yet acknowledged when a link drops are sent again (the edge
 * stores each id once). The buffer is bounded: past MAX_BUFFERED_EVENTS or
 * MAX_BUFFERED_BYTES, `send()` rejects at once with `EventBufferFull` instead of
 * growing without end. Buffered events live in memory only; a daemon that exits loses
 * the ones not yet acknowledged (their promises reject on `close()`).
 */
import { CodedError, type ErrorCode, encodeFrame, MAX_DATA_BYTES, NAME_PATTERN } from "../protocol/index.ts";

export const MAX_BUFFERED_EVENTS = 256;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * What an event may carry: bytes, text, or anything JSON (sent as `application/json`).
 *
 * @example
 * ```ts
 * import type { EventData } from "impgate/device/index.ts";
 * const reading: EventData = { c: 21.5, at: Date.now() };
 * await link.send("temperature", reading);
 * ```
 */
export type EventData = Uint8Array | string | number | boolean | null | object;

/**
 * Why `send()` rejected an event: `code` is one of impgate's error codes (bad_name,
 * too_large, buffer_full, closed, too_many_names, event_refused, …).
 *
 * @example
 * ```ts
 * import { EventError } from "impgate/device/index.ts";
 * await link.send("temperature", reading).catch((err) => {
 *   if (err instanceof EventError && err.code === "too_large") reading = summarize(reading);
 * });
 * ```
 */
export class EventError extends CodedError<ErrorCode> {
  override readonly name: string = "EventError";
}

/**
 * The link is down (or slow) and its buffer of unsent events is full: this event was not
 * kept.
 *
 * @example
 * ```ts
 * import { EventBufferFull } from "impgate/device/index.ts";
 * await link.send("temperature", reading).catch((err) => {
 *   if (err instanceof EventBufferFull) dropped++;
 * });
 * ```
 */
export class EventBufferFull extends EventError {
  constructor() {
    super("buffer_full", `event buffer full (${MAX_BUFFERED_EVENTS} events or ${MAX_BUFFERED_BYTES} bytes wait for the edge)`);
  }
}

interface Pending {
  id: string;
  frame: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

const encoder = new TextEncoder();

export class Outbox {
  private readonly pending = new Map<string, Pending>();
  private bytes = 0;
  private write: ((frame: Uint8Array) => void) | null = null;

  /** Validates and queues an event; sends it at once when the link is up. */
  send(name: string, data: EventData, contentType?: string): Promise<void> {
    if (!NAME_PATTERN.test(name)) {
      return Promise.reject(
        new EventError("bad_name", `event name "${name.slice(0, 64)}" must be 1-64 letters, digits and . _ : - (not first)`),
      );
    }
    if (contentType !== undefined && (contentType.length === 0 || contentType.length > 256)) {
      return Promise.reject(new EventError("bad_content_type", "contentType must be 1-256 characters"));
    }
    let payload: Uint8Array;
    let type: string;
    try {
      [payload, type] = encodeEventData(data, contentType);
    } catch (err) {
      return Promise.reject(new EventError("bad_data", `event data cannot be sent as JSON: ${(err as Error).message}`));
    }
    if (payload.byteLength > MAX_DATA_BYTES) {
      return Promise.reject(new EventError("too_large", `event data is ${payload.byteLength} bytes; the limit is ${MAX_DATA_BYTES}`));
    }
    if (this.pending.size >= MAX_BUFFERED_EVENTS || this.bytes + payload.byteLength > MAX_BUFFERED_BYTES) {
      return Promise.reject(new EventBufferFull());
    }
    const id = crypto.randomUUID();
    const frame = encodeFrame({ t: "event", id, name, contentType: type }, payload);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { id, frame, resolve, reject });
      this.bytes += frame.byteLength;
      this.write?.(frame);
    });
  }

  /** The link is ready: everything not yet acknowledged goes out, oldest first. */
  online(write: (frame: Uint8Array) => void): void {
    this.write = write;
    for (const p of this.pending.values()) write(p.frame);
  }

  offline(): void {
    this.write = null;
  }

  /** The edge stored event `id`. False if it was not ours (an ack for something else). */
  acknowledged(id: string): boolean {
    return this.settle(id, null);
  }

  /** The edge refused event `id`; it is not sent again. */
  refused(id: string, code: string, message: string): boolean {
    // The edge's frame codes for an event it refuses; any other is a refusal all the same.
    const known: ErrorCode = code === "too_large" || code === "too_many_names" ? code : "event_refused";
    return this.settle(id, new EventError(known, `edge refused the event: ${message}`));
  }

  /** Rejects everything still waiting: the link is closing for good. */
  close(): void {
    this.write = null;
    for (const id of [...this.pending.keys()])
      this.settle(id, new EventError("closed", "device link closed before the edge stored the event"));
  }

  private settle(id: string, error: Error | null): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    this.bytes -= p.frame.byteLength;
    if (error) p.reject(error);
    else p.resolve();
    return true;
  }
}

/** Bytes go as they are, strings as text, anything else as JSON. */
export function encodeEventData(data: EventData, contentType?: string): [Uint8Array, string] {
  if (data instanceof Uint8Array) return [data, contentType ?? "application/octet-stream"];
  if (typeof data === "string") return [encoder.encode(data), contentType ?? "text/plain; charset=utf-8"];
  return [encoder.encode(JSON.stringify(data)), contentType ?? "application/json"];
}
