/**
 * How a message enters the imp's queue, from a caller (`POST _messages`) or from agent
 * code (`device.send`): checked, queued in one storage transaction with whatever must be
 * remembered with it, and sent at once if the device is online. Under an idempotency key
 * (./idempotency.ts) a retry of an accepted message gets the first answer again.
 */
import { fail, ok, type Result } from "../edge/errors.ts";
import { checkKey } from "../protocol/idempotency-key.ts";
import { MAX_DATA_BYTES, NAME_PATTERN } from "../protocol/index.ts";
import { fingerprint, type SentMessage } from "./idempotency.ts";
import type { ImpParts } from "./imp-parts.ts";
import type { ImpRecord } from "./imp-record.ts";
import { deliverQueued } from "./message-delivery.ts";
import { DEFAULT_QUEUE_LIMIT, MAX_TTL_MS, type MessageInfo, MIN_TTL_MS, type NewMessage } from "./message-queue.ts";

/**
 * Checks and queues a message; it goes out at once if the device is online. `accepted`
 * runs in the same storage transaction as the insert (an idempotency key's answer is
 * never stored without its message, nor the message without it).
 */
export async function enqueue(
  parts: ImpParts,
  imp: ImpRecord,
  input: NewMessage,
  accepted?: (info: MessageInfo) => void,
): Promise<Result<SentMessage>> {
  if (!NAME_PATTERN.test(input.name)) return fail("bad_name", "A message name is 1-64 characters: letters, digits and . _ : - (not first)");
  if (input.data.byteLength > MAX_DATA_BYTES) return fail("body_too_large", `Message data exceeds ${MAX_DATA_BYTES} bytes`);
  if (input.contentType !== null && !(input.contentType.length >= 1 && input.contentType.length <= 256)) {
    return fail("bad_request", "content-type must be 1-256 characters");
  }
  if (!(input.ttlMs >= MIN_TTL_MS && input.ttlMs <= MAX_TTL_MS)) {
    return fail("bad_ttl", `ttl must be between ${MIN_TTL_MS / 1000} and ${MAX_TTL_MS / 1000} seconds`);
  }
  const queued = parts.ctx.storage.transactionSync(() => {
    const result = parts.queue.enqueue(input, imp.queueLimit ?? DEFAULT_QUEUE_LIMIT, Date.now());
    if (result.ok) accepted?.(result.value);
    return result;
  });
  if (!queued.ok) return queued;
  await parts.scheduler.wakeBy(queued.value.expiresAt);
  const ws = await parts.presence.live();
  if (ws) deliverQueued(parts.queue, ws);
  return ok({ info: queued.value, replayed: false });
}

/**
 * A message under an idempotency key, remembered per `scope` (who the caller authenticated
 * as): the key is held while the request is read (a retry meanwhile gets 409); then the
 * key's earlier answer is replayed, or the message is queued and the answer remembered.
 * Only an accepted message is remembered.
 */
export async function enqueueOnce(
  parts: ImpParts,
  imp: ImpRecord,
  scope: string,
  key: string,
  read: () => Promise<Result<NewMessage>>,
): Promise<Result<SentMessage>> {
  const checked = checkKey(key);
  if (!checked.ok) return fail("bad_idempotency_key", checked.message);
  if (!parts.idempotency.hold(scope, key)) {
    return fail("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry later", { retryAfter: 1 });
  }
  try {
    const input = await read();
    if (!input.ok) return input;
    const print = await fingerprint(input.value);
    const past = parts.idempotency.recall(scope, key, print, Date.now());
    if (past.kind === "replay") return ok({ info: past.info, replayed: true });
    if (past.kind === "different_request") {
      return fail("idempotency_key_reused", "This Idempotency-Key was used for a different request (name, ttl, content type or body)");
    }
    let forgetAt = 0;
    const sent = await enqueue(parts, imp, input.value, (info) => {
      forgetAt = parts.idempotency.remember(scope, key, print, info, Date.now());
    });
    if (sent.ok) await parts.scheduler.wakeBy(forgetAt);
    return sent;
  } finally {
    parts.idempotency.release(scope, key);
  }
}
