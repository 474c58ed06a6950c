/**
 * Every refusal of the sealed (end-to-end) layer, as one error class with a stable `code`,
 * in the manner of jose's errors: callers branch on `code`, never on message text. Messages
 * say what to do and never echo plaintext, keys or ciphertext.
 */
import { CodedError, type ErrorCode } from "../errors.ts";

/** Why sealed bytes or a key statement were refused. */
export const SEALED_ERROR_CODES = {
  /** Not sealed bytes of this format at all: too short, truncated, bad framing, bad inner encoding. */
  ERR_SEALED_MALFORMED: "the sealed bytes are malformed",
  /** The authenticated decryption failed: a changed bit, another key, another request's reply, another kind. */
  ERR_SEALED_TAMPERED: "the sealed bytes do not open: changed in transit, or sealed for something else",
  /** The header names a key the device does not hold (never did, or retired after its overlap). */
  ERR_SEALED_UNKNOWN_KEY: "sealed to a key this device does not accept: fetch its current key statement",
  /** The header names an HPKE suite this library does not speak. */
  ERR_SEALED_UNSUPPORTED_SUITE: "sealed with an unsupported HPKE suite",
  /** Sealed outside the accepted time window (or below what the replay memory can still tell apart). */
  ERR_SEALED_STALE: "sealed too long ago or too far in the future: check the clocks, then seal again",
  /** The unique id inside was seen before. */
  ERR_SEALED_REPLAYED: "this sealed request or message was seen before",
  /** Larger than the stated limit. */
  ERR_SEALED_TOO_LARGE: "the sealed content is larger than allowed",
  /** A signature does not verify: an event's against the pinned identity key (or it names another imp), a request's or message's against the sender it names. */
  ERR_SEALED_FORGED: "the sealed bytes were not signed by the key they name",
  /** A request or message signed by a key that is not among the device's `e2e.senders`. */
  ERR_SEALED_UNKNOWN_SENDER: "sealed by a sender this device does not accept: its key is not in the device's e2e.senders",
  /** Not a well-formed key statement, or its signature does not verify. */
  ERR_KEY_STATEMENT_INVALID: "the key statement is malformed or its signature does not verify",
  /** Signed by an identity key other than the pinned one. */
  ERR_KEY_STATEMENT_IDENTITY_CHANGED: "the device's identity key is not the pinned one",
  /** Past its not-after time (or issued in the future). */
  ERR_KEY_STATEMENT_EXPIRED: "the key statement has expired",
  /** For another imp than the one called. */
  ERR_KEY_STATEMENT_WRONG_IMP: "the key statement is for another imp",
  /** Its sequence is lower than one already seen: an old statement served again. */
  ERR_KEY_STATEMENT_ROLLBACK: "the key statement is older than one already seen",
  /** A pin that is not `sha256:` followed by an RFC 7638 thumbprint. */
  ERR_KEY_PIN_INVALID: "a pin is sha256: followed by 43 base64url characters",
} as const;

export type SealedErrorCode = keyof typeof SEALED_ERROR_CODES;

/**
 * A refusal by the sealed layer. `code` is stable; `message` is for people.
 *
 * @example
 * ```ts
 * try {
 *   const { inner } = await openRequest(keyring, bytes, { replay });
 * } catch (err) {
 *   if (err instanceof SealedError && err.code === "ERR_SEALED_UNKNOWN_KEY") {
 *     // tell the caller to fetch the current key statement
 *   } else throw err;
 * }
 * ```
 */
export class SealedError extends CodedError<SealedErrorCode> {
  override readonly name = "SealedError";
  constructor(code: SealedErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(code, detail ? `${SEALED_ERROR_CODES[code]}: ${detail}` : SEALED_ERROR_CODES[code], options);
  }
}

/** True if `err` is a SealedError, optionally with one of `codes`. */
export function isSealedError(err: unknown, ...codes: SealedErrorCode[]): err is SealedError {
  return err instanceof SealedError && (codes.length === 0 || codes.includes(err.code));
}

/** What each refusal of a sealed request or message is, as the device answers it through the relay. */
const AS_ERROR_CODE: Record<SealedErrorCode, ErrorCode> = {
  ERR_SEALED_MALFORMED: "sealed_malformed",
  ERR_SEALED_TOO_LARGE: "sealed_malformed",
  ERR_SEALED_UNSUPPORTED_SUITE: "sealed_malformed",
  ERR_SEALED_TAMPERED: "sealed_tampered",
  ERR_SEALED_UNKNOWN_KEY: "sealed_unknown_key",
  ERR_SEALED_STALE: "sealed_stale",
  ERR_SEALED_REPLAYED: "sealed_replayed",
  ERR_SEALED_UNKNOWN_SENDER: "sealed_sender_refused",
  ERR_SEALED_FORGED: "sealed_sender_refused",
  ERR_KEY_STATEMENT_INVALID: "bad_request",
  ERR_KEY_STATEMENT_IDENTITY_CHANGED: "bad_request",
  ERR_KEY_STATEMENT_EXPIRED: "bad_request",
  ERR_KEY_STATEMENT_WRONG_IMP: "bad_request",
  ERR_KEY_STATEMENT_ROLLBACK: "bad_request",
  ERR_KEY_PIN_INVALID: "bad_request",
};

/**
 * The error code (protocol/errors.ts) a sealed refusal is answered with, over HTTP.
 *
 * @example
 * ```ts
 * const code = errorCodeOf(err); // "sealed_replayed" for ERR_SEALED_REPLAYED
 * ```
 */
export function errorCodeOf(err: SealedError): ErrorCode {
  return AS_ERROR_CODE[err.code];
}
