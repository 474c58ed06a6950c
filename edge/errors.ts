/**
 * How the edge fails, in one shape (the codes and their statuses: protocol/errors.ts).
 *
 *   Failure / Result<T>  a refusal as a value: what every Durable Object RPC answers (an
 *                        exception crossing RPC keeps nothing but its message)
 *   ImpgateError         a refusal as an exception, thrown by the worker's routes and
 *                        middleware (as Hono's HTTPException is) and by `orThrow` for an
 *                        RPC's Failure
 *   errorResponse        the one JSON body every refusal is answered with
 *
 * The worker's `onError` (worker/errors.ts) is the one place an ImpgateError becomes a
 * response. Messages are safe to show: they never hold a secret or a stack trace.
 */
import { CodedError, type ErrorCode, statusOf } from "../protocol/errors.ts";

/** Headers a refusal carries besides Retry-After: WWW-Authenticate, Allow, Upgrade, … */
export type ErrorHeaders = Record<string, string>;

/** What a refusal may carry besides its code and message. */
export interface FailureDetail {
  headers?: ErrorHeaders;
  /** Seconds before trying again is worth it: the `Retry-After` header. */
  retryAfter?: number;
  /**
   * For `rate_limited` decided by an imp's object, what waits: this client at this imp
   * (the worker remembers that, so the client's next attempts stop in the worker), or a
   * credential's code checks or replay memory (not the client's doing: its other
   * credentials must keep working). Absent when the worker decided it itself.
   */
  scope?: "client" | "credential";
}

/** A refusal as a value. */
export interface Failure extends FailureDetail {
  ok: false;
  code: ErrorCode;
  message: string;
}

/** What every Durable Object RPC answers: its value, or why not. */
export type Result<T> = { ok: true; value: T } | Failure;

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Success with nothing to say. */
export const DONE: Result<null> = { ok: true, value: null };

export function fail(code: ErrorCode, message: string, detail: FailureDetail = {}): Failure {
  const { headers, retryAfter, scope } = detail;
  return {
    ok: false,
    code,
    message,
    ...(headers ? { headers } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    ...(scope ? { scope } : {}),
  };
}

/**
 * A refusal with its code, its status (always the code's) and a message safe to show.
 *
 * @example
 * ```ts
 * throw new ImpgateError("bad_request", "limit: a whole number from 1 to 1000");
 * ```
 */
export class ImpgateError extends CodedError<ErrorCode> {
  override readonly name = "ImpgateError";
  readonly status: number;
  readonly headers: ErrorHeaders;
  readonly retryAfter: number | undefined;
  readonly scope: FailureDetail["scope"];

  constructor(code: ErrorCode, message: string, detail: FailureDetail = {}) {
    super(code, message);
    this.status = statusOf(code);
    this.headers = detail.headers ?? {};
    this.retryAfter = detail.retryAfter;
    this.scope = detail.scope;
  }

  static from(failure: Failure): ImpgateError {
    return new ImpgateError(failure.code, failure.message, failure);
  }

  /** The same refusal as a value, to return over RPC. */
  failure(): Failure {
    return fail(this.code, this.message, this);
  }

  response(): Response {
    return errorResponse(
      this.code,
      this.message,
      this.retryAfter === undefined ? this.headers : { ...this.headers, "Retry-After": String(this.retryAfter) },
    );
  }
}

/**
 * An RPC's value, or its Failure thrown as an ImpgateError for `onError` to answer.
 *
 * @example
 * ```ts
 * const info = orThrow(await stub.caller(call).messageStatus(id));
 * ```
 */
export function orThrow<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw ImpgateError.from(result);
}

/** The one error body: `{ "error": { "code", "message" } }`, never kept by a cache. */
export function errorResponse(code: ErrorCode, message: string, headers: ErrorHeaders = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status: statusOf(code),
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}
