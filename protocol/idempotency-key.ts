/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): an
 * Item Structured Field whose value MUST be a String (RFC 9651 §3.3.3), e.g.
 *   Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"
 * Read strictly: exactly one quoted string of 1-255 printable ASCII characters (`\"` and
 * `\\` escaped as the RFC says), no parameters, no list. A bare token or UUID, an empty
 * string, a longer one or two keys in one request are refused (400), so a client's mistake
 * is seen at its first request instead of silently making every key different.
 */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** The sf-string grammar: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE, unescaped = %x20-21 / %x23-5B / %x5D-7E. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/;

export type ParsedKey = { ok: true; key: string } | { ok: false; message: string };

/** The key a header value carries, or why it is not one. */
export function parseIdempotencyKey(header: string): ParsedKey {
  // Leading and trailing spaces are not part of a structured field (RFC 9651 §4.2).
  const match = SF_STRING.exec(header.replace(/^ +| +$/g, ""));
  if (!match) {
    return {
      ok: false,
      message: 'Idempotency-Key must be one quoted string, e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"',
    };
  }
  const key = (match[1] ?? "").replace(/\\(["\\])/g, "$1");
  return checkKey(key);
}

/** A key as agent code passes it (a plain string): the same characters and length as the header's. */
export function checkKey(key: string): ParsedKey {
  if (key.length === 0) return { ok: false, message: "Idempotency-Key must not be empty" };
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    return { ok: false, message: `Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` };
  }
  if (!/^[\x20-\x7E]*$/.test(key)) return { ok: false, message: "Idempotency-Key must be printable ASCII" };
  return { ok: true, key };
}
