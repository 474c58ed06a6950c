/**
 * What the device sends out sealed (device/sealed-traffic.ts opens what comes in): events,
 * sealed to every owner in `e2e.recipients` and signed by the identity key, and the key
 * statement, handed to the edge now and again whenever it changes.
 */
import { MAX_DATA_BYTES, NAME_PATTERN } from "../protocol/index.ts";
import { sealEvent } from "../protocol/sealed/events.ts";
import { type EventData, EventError, encodeEventData } from "./outbox.ts";
import type { SealedTraffic } from "./sealed-traffic.ts";

/** How often the daemon looks for a key another process rotated in, and for a statement to re-sign. */
export const KEY_CHECK_MS = 2_000;

/**
 * An event sealed to every recipient: the data to send under the outer name SEALED_NAME
 * (what the edge stores). Refused as `send()` refuses a plaintext event (EventError), and
 * when, sealed, it would be over the edge's event limit.
 */
export async function sealDeviceEvent(sealed: SealedTraffic, name: string, data: EventData, contentType?: string): Promise<Uint8Array> {
  if (!NAME_PATTERN.test(name)) {
    throw new EventError("bad_name", `event name "${name.slice(0, 64)}" must be 1-64 letters, digits and . _ : - (not first)`);
  }
  if (contentType !== undefined && (contentType.length === 0 || contentType.length > 256)) {
    throw new EventError("bad_content_type", "contentType must be 1-256 characters");
  }
  let payload: Uint8Array;
  let type: string;
  try {
    [payload, type] = encodeEventData(data, contentType);
  } catch (err) {
    throw new EventError("bad_data", `event data cannot be sent as JSON: ${(err as Error).message}`);
  }
  const { impId, deviceKey, e2e } = sealed.config;
  try {
    return await sealEvent(
      { name, contentType: type, data: payload },
      { impId, identityKey: deviceKey, recipients: e2e.recipients, maxBytes: MAX_DATA_BYTES },
    );
  } catch (err) {
    if (err instanceof TypeError) throw new EventError("too_large", `sealed, the event is over the limit: ${err.message}`);
    throw err;
  }
}

/**
 * Hands the edge the current statement now, and again whenever it changes (a rotation by
 * `impgate-device e2e rotate`, a re-signing at half its life). Returns the stop function.
 */
export function publishStatements(sealed: SealedTraffic, send: (statement: string) => boolean): () => void {
  const { keys, log } = sealed;
  let sent = "";
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      if (await keys.refresh()) log("info", "sealed keys changed on disk; taking them up", { keyId: keys.keyId });
      const statement = await keys.currentStatement();
      if (statement !== sent && send(statement)) {
        sent = statement;
        log("info", "key statement sent to the edge", { keyId: keys.keyId, sequence: keys.sequence });
      }
    } catch (err) {
      log("error", "cannot read or sign the sealed keys", { error: String(err) });
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), KEY_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
