/**
 * A reader of an imp's live request log (`GET /admin/imps/<imp>/tail`, protocol/tail.ts),
 * for `impgate tail` and for `npm start`'s request lines. It sends the admin secret in the
 * Authorization header (never in the URL), acknowledges lines as it reads them, keeps the
 * socket checked with the edge's heartbeat (answered by the runtime, so an idle imp stays
 * asleep), and reconnects when the edge goes away (a restart) until stopped. A refusal
 * that reconnecting cannot fix (the admin secret, an unknown imp, a certificate) ends it
 * with one line that says so.
 */
import WebSocket from "ws";
import { parseTailFrame, type TailLine } from "../protocol/tail.ts";
import { HEARTBEAT_PING, HEARTBEAT_PONG } from "../protocol/version.ts";
import { CliError } from "./errors.ts";
import { tlsHint } from "./hints.ts";
import type { Profile } from "./profile.ts";

export interface TailHandlers {
  line(line: TailLine): void;
  dropped(count: number): void;
  /** The socket is open (again); `again`: after a loss, so lines in between were missed. */
  connected?(again: boolean): void;
  /** The connection was lost; trying again in `inMs`. */
  lost?(why: string, inMs: number): void;
}

export interface TailReader {
  /** Resolves when stopped; rejects with a CliError for a refusal that retrying cannot fix. */
  done: Promise<void>;
  stop(): void;
}

/** Acknowledge after this many lines, or this long after the last unacknowledged one. */
const ACK_EVERY = 16;
const ACK_AFTER_MS = 200;
/** A heartbeat every so often; no answer within the second interval means the link is dead. */
const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 10_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5_000;

/** What an HTTP refusal of the upgrade means to the reader. */
function refusal(status: number, body: string, profile: Profile, impId: string): CliError | null {
  let message = "";
  let code = "";
  try {
    const error = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    message = error?.message ?? "";
    code = error?.code ?? "";
  } catch {
    // not impgate's JSON: the status says enough
  }
  if (code === "admin_disabled") return new CliError(`the edge refused (${status}): ${message}`);
  if (status === 401)
    return new CliError(`the edge refused the admin secret of ${profile.label} (401); check it, or run \`impgate login\` again`);
  if (status === 404) return new CliError(`no such imp on ${profile.edgeUrl}: ${impId}`);
  if (status >= 400 && status < 500) return new CliError(`the edge refused (${status}): ${message || "request refused"}`);
  return null;
}

export function followTail(profile: Profile, impId: string, handlers: TailHandlers): TailReader {
  const base = new URL(profile.edgeUrl);
  if (base.protocol !== "https:") throw new CliError(`refusing to send the admin secret over ${base.protocol} (use https://)`);
  const url = `wss://${base.host}${base.pathname.replace(/\/$/, "")}/admin/imps/${encodeURIComponent(impId)}/tail`;
  let stopped = false;
  let current: WebSocket | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let settle: { resolve(): void; reject(err: Error): void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let failures = 0;
  let everConnected = false;

  const finish = (err?: Error) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    current?.terminate();
    if (err) settle?.reject(err);
    else settle?.resolve();
  };

  const retry = (why: string) => {
    if (stopped) return;
    const inMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures, 4));
    failures++;
    handlers.lost?.(why, inMs);
    retryTimer = setTimeout(connect, inMs);
  };

  function connect(): void {
    if (stopped) return;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${profile.adminSecret}` },
      ca: profile.trust.ca,
      handshakeTimeout: 15_000,
    });
    current = ws;
    let acked = 0;
    let latest = 0;
    let ackTimer: NodeJS.Timeout | undefined;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongDeadline: NodeJS.Timeout | undefined;
    let refused = false;
    let failure: string | undefined;

    const ack = () => {
      clearTimeout(ackTimer);
      ackTimer = undefined;
      if (latest > acked && ws.readyState === WebSocket.OPEN) {
        acked = latest;
        ws.send(JSON.stringify({ t: "ack", seq: latest }));
      }
    };

    ws.on("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const fatal = refusal(status, Buffer.concat(chunks).toString("utf8"), profile, impId);
        refused = true;
        ws.terminate();
        if (fatal) finish(fatal);
        else retry(`the edge answered ${status}`);
      });
    });
    ws.on("open", () => {
      failures = 0;
      handlers.connected?.(everConnected);
      everConnected = true;
      pingTimer = setInterval(() => {
        ws.send(HEARTBEAT_PING);
        pongDeadline ??= setTimeout(() => ws.terminate(), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    });
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === HEARTBEAT_PONG) {
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
        return;
      }
      const frame = parseTailFrame(text);
      if (frame?.t === "line") {
        handlers.line(frame.line);
        latest = frame.seq;
        if (latest - acked >= ACK_EVERY) ack();
        else ackTimer ??= setTimeout(ack, ACK_AFTER_MS);
      } else if (frame?.t === "dropped") {
        handlers.dropped(frame.count);
      }
    });
    ws.on("error", (err: NodeJS.ErrnoException) => {
      const hint = tlsHint(base.origin, err.code, profile.trust);
      if (hint) finish(new CliError(hint));
      failure = err.code === "ECONNREFUSED" ? `nothing answers on ${base.host}` : err.code;
    });
    ws.on("close", (code) => {
      clearTimeout(ackTimer);
      clearInterval(pingTimer);
      clearTimeout(pongDeadline);
      if (refused || stopped) return;
      retry(failure ?? (code === 1006 ? "connection lost" : `closed (${code})`));
    });
  }

  connect();
  return { done, stop: () => finish() };
}

/** One line of the log as people read it: time, method, path, status (and why), latency, credential. */
export function formatTailLine(line: TailLine): string {
  const path = line.path === null ? "(no canonical path)" : `${line.path}${line.query ? "?…" : ""}`;
  const status = line.code ? `${line.status} ${line.code}` : String(line.status);
  return `${new Date(line.at).toISOString()}  ${line.method} ${path}  ${status}  ${line.ms}ms  ${line.cred ?? "-"}`;
}
