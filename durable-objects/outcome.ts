/**
 * What a caller-facing RPC on ImpSession answers: a value, or a refusal the worker turns
 * into its one JSON error shape. Refusals are values, not thrown errors, because an
 * exception crossing RPC loses everything but its message.
 */
export type Refusal = {
  ok: false;
  status: 400 | 401 | 404 | 408 | 409 | 413 | 422 | 429 | 507;
  code: string;
  message: string;
  headers?: Record<string, string>;
};
export type Outcome<T> = { ok: true; value: T } | Refusal;

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function refuse(status: Refusal["status"], code: string, message: string, headers?: Record<string, string>): Refusal {
  return { ok: false, status, code, message, ...(headers ? { headers } : {}) };
}

/** Unknown, rotated and revoked agent ids: the worker answers the same 404 for all of them. */
export const AGENT_NOT_FOUND: Refusal = refuse(404, "not_found", "Not found");
