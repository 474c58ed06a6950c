/**
 * The one failure of the credential-constraint parsers and scope narrowing: a typed error
 * with a stable `code` (as jose's errors have), whose message is one readable line fit
 * for the CLI and for an admin API `{ error: { code, message } }`. Callers branch on
 * `code`, never on the message.
 */
import { CodedError } from "./errors.ts";

/**
 * - `ERR_SCOPE_SYNTAX`    a scope entry is not of the grammar (protocol/scope.ts)
 * - `ERR_SCOPE_TOO_WIDE`  a narrower scope asked for more than was granted (OAuth's `invalid_scope`)
 * - `ERR_EXPIRES_SYNTAX`  an `--expires` value is not a duration, a date, or is in the past
 * - `ERR_RATE_SYNTAX`     a `--rate` value is not `<count>/<s|m|h|d>`
 * - `ERR_CIDR_SYNTAX`     a `--from` value is not an IPv4 or IPv6 address or range
 */
export type ConstraintErrorCode = "ERR_SCOPE_SYNTAX" | "ERR_SCOPE_TOO_WIDE" | "ERR_EXPIRES_SYNTAX" | "ERR_RATE_SYNTAX" | "ERR_CIDR_SYNTAX";

/**
 * Thrown by the parsers of scopes, expiries, rates and address ranges, and by `narrowScope`.
 *
 * @example
 * ```ts
 * try {
 *   parseRate("60 per minute");
 * } catch (err) {
 *   if (err instanceof ConstraintError) console.error(`impgate: ${err.message}`); // one line, no stack
 * }
 * ```
 */
export class ConstraintError extends CodedError<ConstraintErrorCode> {
  override readonly name = "ConstraintError";
}
