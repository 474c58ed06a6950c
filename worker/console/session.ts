/**
 * Console sessions, kept server-side in D1 (migrations/0002_console_sessions.sql) so each
 * can be ended at once: signing out, "sign out everywhere", or revoking one from the
 * sessions page deletes its row, and the next request with that cookie is signed out.
 *
 * The cookie, `__Host-impgate-console`, holds 32 random bytes; the table holds only their
 * SHA-256. It is HttpOnly, Secure, SameSite=Strict and host-only with Path=/ (the `__Host-`
 * prefix makes the browser insist on that). A session lasts 30 minutes without use and
 * 8 hours at most, and its token is replaced every 10 minutes of use (the old one keeps
 * working for a minute, for requests already on their way). Each session has its own CSRF
 * token (./csrf.ts).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { base64url } from "jose";
import type { ConsoleEnv, Session } from "./context.ts";

export type { Session } from "./context.ts";

/** The cookie's name without its prefix: hono's cookie helpers add `__Host-` (prefix "host"). */
export const SESSION_COOKIE = "impgate-console";
export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 8 * 60 * 60_000;
export const ROTATE_MS = 10 * 60_000;
const GRACE_MS = 60_000;
/** seen_at is written at most this often: not every poll of a live page is a write. */
const SEEN_EVERY_MS = 60_000;

interface Row {
  id: string;
  who: string;
  client: string;
  csrf: string;
  created_at: number;
  rotated_at: number;
  seen_at: number;
  expires_at: number;
}

function fromRow(r: Row): Session {
  return {
    id: r.id,
    who: r.who,
    client: r.client,
    csrf: r.csrf,
    createdAt: r.created_at,
    rotatedAt: r.rotated_at,
    seenAt: r.seen_at,
    expiresAt: r.expires_at,
  };
}

function random(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function idOf(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))));
}

function setSessionCookie(c: Context<ConsoleEnv>, token: string): void {
  // No Max-Age: a browser session cookie; the server decides when it ends.
  setCookie(c, SESSION_COOKIE, token, { path: "/", secure: true, httpOnly: true, sameSite: "Strict", prefix: "host" });
}

/** A new session for `who` (the old one, if any, ended first): its cookie is set on `c`. */
export async function startSession(c: Context<ConsoleEnv>, who: string, client: string): Promise<Session> {
  const db = c.env.REGISTRY;
  const now = Date.now();
  const token = random();
  const session: Session = {
    id: await idOf(token),
    who,
    client,
    csrf: random(),
    createdAt: now,
    rotatedAt: now,
    seenAt: now,
    expiresAt: now + ABSOLUTE_MS,
  };
  const previous = getCookie(c, SESSION_COOKIE, "host");
  await db.batch([
    // Old sessions are cleared out as new ones begin.
    db.prepare("DELETE FROM console_sessions WHERE expires_at <= ? OR seen_at <= ?").bind(now, now - IDLE_MS),
    ...(previous ? [db.prepare("DELETE FROM console_sessions WHERE id = ?").bind(await idOf(previous))] : []),
    db
      .prepare(
        "INSERT INTO console_sessions (id, who, client, csrf, created_at, rotated_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(session.id, who, client, session.csrf, now, now, now, session.expiresAt),
  ]);
  setSessionCookie(c, token);
  return session;
}

/** The session the request's cookie names, if it is still alive; its token is replaced when due. */
export async function currentSession(c: Context<ConsoleEnv>): Promise<Session | null> {
  const token = getCookie(c, SESSION_COOKIE, "host");
  if (!token || token.length > 100) return null;
  const db = c.env.REGISTRY;
  const now = Date.now();
  const row = await db
    .prepare("SELECT * FROM console_sessions WHERE id = ?")
    .bind(await idOf(token))
    .first<Row>();
  if (!row || row.expires_at <= now || row.seen_at + IDLE_MS <= now) return null;
  const session = fromRow(row);
  // A token already replaced (in its last minute) is not replaced again; nor is one on a websocket
  // upgrade (the live request log), whose 101 carries no cookie: the next page replaces it.
  const upgrade = c.req.header("upgrade") !== undefined;
  if (now - session.rotatedAt >= ROTATE_MS && session.expiresAt > now + GRACE_MS && !upgrade) return rotate(c, session, now);
  if (now - session.seenAt >= SEEN_EVERY_MS) {
    await db.prepare("UPDATE console_sessions SET seen_at = ? WHERE id = ?").bind(now, session.id).run();
    session.seenAt = now;
  }
  return session;
}

/** A new token for the same session; the old one works for another minute, then not at all. */
async function rotate(c: Context<ConsoleEnv>, session: Session, now: number): Promise<Session> {
  const db = c.env.REGISTRY;
  const token = random();
  const next: Session = { ...session, id: await idOf(token), rotatedAt: now, seenAt: now };
  await db.batch([
    db
      .prepare(
        "INSERT INTO console_sessions (id, who, client, csrf, created_at, rotated_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(next.id, next.who, next.client, next.csrf, next.createdAt, now, now, next.expiresAt),
    db.prepare("UPDATE console_sessions SET expires_at = MIN(expires_at, ?) WHERE id = ?").bind(now + GRACE_MS, session.id),
  ]);
  setSessionCookie(c, token);
  return next;
}

export async function endSession(c: Context<ConsoleEnv>, session: Session): Promise<void> {
  await c.env.REGISTRY.prepare("DELETE FROM console_sessions WHERE id = ?").bind(session.id).run();
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
}

/** Every live session, newest first (for the sessions page). */
export async function liveSessions(c: Context<ConsoleEnv>): Promise<Session[]> {
  const now = Date.now();
  const { results } = await c.env.REGISTRY.prepare(
    "SELECT * FROM console_sessions WHERE expires_at > ? AND seen_at > ? ORDER BY created_at DESC LIMIT 200",
  )
    .bind(now, now - IDLE_MS)
    .all<Row>();
  return results.map(fromRow);
}

/** Ends one session (by its id) or, with null, every session. */
export async function revokeSessions(c: Context<ConsoleEnv>, id: string | null): Promise<number> {
  const db = c.env.REGISTRY;
  const done =
    id === null
      ? await db.prepare("DELETE FROM console_sessions").run()
      : await db.prepare("DELETE FROM console_sessions WHERE id = ?").bind(id).run();
  return done.meta.changes ?? 0;
}
