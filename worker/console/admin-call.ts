/**
 * The console is a client of the admin API, as the CLI is: each page and action calls it,
 * in-process (no network), so both share every check, default and audit entry. The call
 * carries the admin secret the edge already holds, the operator's address, and who they are
 * (`impgate-operator: console:<who>`) for the audit log.
 */
import type { Context } from "hono";
import type { ErrorBody } from "../../protocol/errors.ts";
import { OPERATOR_HEADER } from "../../protocol/fleet-api.ts";
import { adminRoutes } from "../routes/admin.ts";
import type { ConsoleEnv } from "./context.ts";

export type Answer<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

export async function adminCall<T>(c: Context<ConsoleEnv>, who: string, method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${c.env.ADMIN_SECRET ?? ""}`,
    [OPERATOR_HEADER]: `console:${who}`.slice(0, 64),
    "cf-connecting-ip": c.req.header("cf-connecting-ip") ?? "unknown",
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  // The console's own origin: the admin API builds agent URLs from it (worker/origins.ts).
  const url = `${new URL(c.req.url).origin}${path}`;
  const res = await adminRoutes.request(
    url,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
    c.env,
    c.executionCtx,
  );
  const json = (await res.json().catch(() => null)) as unknown;
  if (res.ok) return { ok: true, value: json as T };
  const error = (json as Partial<ErrorBody> | null)?.error;
  return {
    ok: false,
    status: res.status,
    code: error?.code ?? "internal",
    message: error?.message ?? `the admin API answered ${res.status}`,
  };
}
