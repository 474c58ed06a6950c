/**
 * impgate's one error vocabulary. Every refusal any part answers over HTTP (the edge to
 * callers, agent code and the admin CLI; the daemon to the local service and, through the
 * relay, to callers) is `{ "error": { "code", "message" } }` with a code from this closed
 * list and the one status that code always has. Clients branch on `code`, never on the
 * message. The README's table of error codes lists exactly these (a test keeps them equal).
 *
 * Reasons that explain a refusal to an operator (an audit log's `auth_failed` reason, a
 * library's `ERR_…` code) are finer than this on purpose: each becomes one of these codes
 * when it reaches a client, so a caller learns no more than it should.
 */

export const ERROR_STATUS = {
  // 400: the request itself is wrong
  bad_request: 400,
  bad_path: 400,
  bad_name: 400,
  bad_ttl: 400,
  bad_key: 400,
  bad_json: 400,
  bad_host: 400,
  too_many_hosts: 400,
  bad_idempotency_key: 400,
  body_incomplete: 400,
  agent_invalid: 400,
  bad_content_type: 400,
  bad_data: 400,
  bad_tag: 400,
  too_many_tags: 400,
  sealed_malformed: 400,
  sealed_tampered: 400,
  sealed_stale: 400,
  bad_scope: 400,
  scope_too_wide: 400,
  bad_expires: 400,
  bad_rate: 400,
  bad_address_range: 400,
  // 401, 403: who is asking
  unauthorized: 401,
  insecure_access: 401,
  insufficient_scope: 403,
  outbound_refused: 403,
  not_loopback: 403,
  not_local: 403,
  e2e_required: 403,
  e2e_off: 403,
  sealed_sender_refused: 403,
  // 404, 405: what is asked for
  not_found: 404,
  imp_not_found: 404,
  credential_not_found: 404,
  message_not_found: 404,
  key_not_found: 404,
  version_not_found: 404,
  no_fetch_handler: 404,
  reserved_path: 404,
  key_statement_not_found: 404,
  method_not_allowed: 405,
  // 408-429: when, and how much
  body_timeout: 408,
  imp_exists: 409,
  credential_exists: 409,
  idempotency_key_in_use: 409,
  no_previous_version: 409,
  agent_inactive: 409,
  e2e_conflict: 409,
  sealed_replayed: 409,
  body_too_large: 413,
  value_too_large: 413,
  code_too_large: 413,
  too_large: 413,
  idempotency_key_reused: 422,
  locked: 423,
  too_many_names: 422,
  event_refused: 422,
  sealed_unknown_key: 422,
  upgrade_required: 426,
  rate_limited: 429,
  too_many_waiters: 429,
  too_many_tails: 429,
  // 5xx: the edge, the agent's code, the device or the local service could not answer
  internal: 500,
  agent_exception: 500,
  agent_hung: 500,
  agent_response_too_large: 502,
  device_disconnected: 502,
  tunnel_error: 502,
  agent_timeout: 503,
  agent_limit: 503,
  agent_startup: 503,
  admin_disabled: 503,
  device_offline: 503,
  device_silent: 503,
  closed: 503,
  device_timeout: 504,
  queue_full: 507,
  state_full: 507,
  buffer_full: 507,
} as const satisfies Record<string, number>;

/** Every code an impgate API answers with. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The body of every refusal. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The HTTP status of a code.
 *
 * @example
 * ```ts
 * statusOf("queue_full"); // 507
 * ```
 */
export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/**
 * The base of every error in impgate that carries a stable `code` (as jose's `JOSEError`
 * does): wire protocol, handshake proofs, the sealed layer, credential constraints, DPoP
 * and signed requests, the daemon's event refusals, and the edge's `ImpgateError`. Callers
 * branch on `code`, never on the message.
 *
 * @example
 * ```ts
 * class TeapotError extends CodedError<"ERR_TEAPOT"> {
 *   override readonly name = "TeapotError";
 * }
 * throw new TeapotError("ERR_TEAPOT", "short and stout");
 * ```
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
