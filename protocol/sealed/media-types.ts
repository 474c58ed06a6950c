/**
 * Media types of the sealed bodies on the outer HTTP requests and replies (the edge relays
 * them unread), in a module of their own so the edge can name them without loading HPKE.
 */
export const SEALED_MEDIA_TYPES = {
  request: "application/impgate-sealed-request",
  reply: "application/impgate-sealed-reply",
  message: "application/impgate-sealed-message",
  /** A JWE in General JSON serialization (RFC 7516 §7.2). */
  event: "application/jose+json",
} as const;

/** `GET $AGENT/_sealed/key`: the device's signed key statement (a compact JWS). */
export const KEY_STATEMENT_MEDIA_TYPE = "application/impgate-key-statement+jwt";

/**
 * The outer name of a sealed message or event: the real one is sealed inside, so every
 * sealed message and event of an imp goes by this one to the edge.
 */
export const SEALED_NAME = "sealed";

/**
 * Whether a Content-Type names `type` (its parameters and case aside).
 *
 * @example
 * ```ts
 * isMediaType("Application/Impgate-Sealed-Message; v=1", SEALED_MEDIA_TYPES.message); // true
 * ```
 */
export function isMediaType(contentType: string | null | undefined, type: string): boolean {
  return (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() === type;
}
