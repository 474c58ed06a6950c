/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * Signing in with the admin secret, once, for a short-lived session (./session.ts); signing
 * out; and the live sessions, each of which can be ended from here. Attempts count against
 * the client exactly as the admin API's do (the edge's audit object keeps the count: a
 * client that fails 5 times waits 10 s, doubling up to 5 minutes) and every one is recorded
 * edge-wide, failed or not. With Cloudflare Access configured there is no sign-in form:
 * Access signs operators in (./access.ts).
 */
import type { Context } from "hono";
import { EDGE_AUDIT_NAME } from "../../durable-objects/edge-audit.ts";
import { ADMIN_POLICY, RateGuard } from "../../edge/auth/rate-guard.ts";
import { clientAddress, clientKey } from "../../edge/client.ts";
import type { EdgeEvent } from "../../protocol/admin-api.ts";
import { sameSecret } from "../auth/admin-auth.ts";
import { recordEdgeEvent } from "../edge-events.ts";
import { accessConfigured } from "./access.ts";
import type { ConsoleEnv } from "./context.ts";
import { fromConsolePage, sameToken } from "./csrf.ts";
import { ago, Csrf, InlineAction, Notice, when } from "./layout.tsx";
import { render } from "./render.tsx";
import { endSession, liveSessions, revokeSessions, startSession } from "./session.ts";

/** This isolate's copy of the audit object's verdicts, as for the admin API. */
const localGuard = new RateGuard(ADMIN_POLICY);

function audit(c: Context<ConsoleEnv>, event: EdgeEvent, detail: Record<string, string | number | boolean>): Promise<void> {
  return recordEdgeEvent(c.env, c.req.raw, event, detail, `console ${event}`);
}

export function recordSignIn(c: Context<ConsoleEnv>, who: string): Promise<void> {
  return audit(c, "console_signed_in", { by: who });
}

function SignInForm({ message, status }: { message?: string; status?: "error" }) {
  return (
    <div class="sign-in">
      <h1>Sign in to impgate</h1>
      {message ? <Notice kind={status}>{message}</Notice> : null}
      <form class="stack" method="post" action="/console/sign-in">
        <label>
          Admin secret
          <input type="password" name="secret" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">A session lasts 30 minutes without use and 8 hours at most.</p>
    </div>
  );
}

export async function signInPage(c: Context<ConsoleEnv>): Promise<Response> {
  c.set("viaAccess", accessConfigured(c.env));
  if (accessConfigured(c.env)) {
    return render(c, { title: "Sign in", signedOut: true }, <Notice>This console signs you in through Cloudflare Access.</Notice>);
  }
  return render(c, { title: "Sign in", signedOut: true }, <SignInForm />);
}

export async function signIn(c: Context<ConsoleEnv>): Promise<Response> {
  c.set("viaAccess", false);
  const page = (status: number, message: string, headers?: Record<string, string>) =>
    render(c, { title: "Sign in", status, signedOut: true, headers }, <SignInForm message={message} status="error" />);
  if (accessConfigured(c.env)) return page(404, "This console signs you in through Cloudflare Access.");
  // A sign-in form posted from another site would sign this browser in to someone else's choosing.
  if (!fromConsolePage(c)) return page(403, "Refused: sign in from this console's own page.");
  const secret = c.env.ADMIN_SECRET;
  if (!secret) return page(503, "The console is off: the edge has no ADMIN_SECRET.");
  const client = clientAddress(c.req.raw);
  const key = clientKey(client);
  const wait = localGuard.retryAfter(key);
  if (wait) return page(429, `Too many failed attempts: try again in ${wait} s.`, { "Retry-After": String(wait) });
  const form = await c.req.parseBody();
  const presented = typeof form.secret === "string" ? form.secret : "";
  if (presented && (await sameSecret(presented, secret))) {
    await startSession(c, "admin", client);
    await recordSignIn(c, "admin");
    return c.redirect("/console", 303);
  }
  localGuard.fail(key);
  const answer = await c.env.EDGE_AUDIT.getByName(EDGE_AUDIT_NAME)
    .adminAuthFailed(client, { reason: presented ? "wrong_secret" : "missing", method: "POST", path: "/console/sign-in" })
    .catch(() => null);
  const retryAfter = answer?.ok ? answer.value : 0;
  if (retryAfter > 0) localGuard.block(key, retryAfter);
  return page(401, "That is not the admin secret.");
}

export async function signOut(c: Context<ConsoleEnv>): Promise<Response> {
  const { session } = c.var;
  await endSession(c, session);
  await audit(c, "console_signed_out", { by: session.who });
  return c.redirect("/console/sign-in", 303);
}

export async function sessionsPage(c: Context<ConsoleEnv>): Promise<Response> {
  const { session } = c.var;
  const sessions = await liveSessions(c);
  const done = c.req.query("done");
  return render(
    c,
    { title: "Sessions" },
    <>
      <h1>Console sessions</h1>
      {done === "revoked" ? <Notice>Session ended.</Notice> : null}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col" class="wide">
                From
              </th>
              <th scope="col">Began</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr>
                <td>
                  {s.who}
                  {s.id === session.id ? " (this one)" : ""}
                </td>
                <td class="wide mono">{s.client}</td>
                <td>{when(s.createdAt)}</td>
                <td>{ago(s.seenAt)}</td>
                <td>
                  <InlineAction action="/console/sessions/revoke" csrf={session.csrf} name="id" value={s.id}>
                    End
                  </InlineAction>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form method="post" action="/console/sessions/revoke">
        <Csrf token={session.csrf} />
        <input type="hidden" name="id" value="all" />
        <p>
          <button type="submit" class="danger">
            Sign out everywhere
          </button>
        </p>
      </form>
    </>,
  );
}

export async function revokeSession(c: Context<ConsoleEnv>): Promise<Response> {
  const form = await c.req.parseBody();
  const id = typeof form.id === "string" ? form.id : "";
  const all = id === "all";
  const ended = await revokeSessions(c, all ? null : id);
  await audit(c, "console_session_revoked", { by: c.var.session.who, sessions: all ? "all" : "one", ended });
  // Ending one's own session (or all) signs this browser out too: its next request finds no session.
  return c.redirect(all || sameToken(id, c.var.session.id) ? "/console/sign-in" : "/console/sessions?done=revoked", 303);
}
