/**
 * The live request log of an imp (`impgate tail`, `GET /admin/imps/<imp>/tail`): what the
 * imp's object sends down a tail websocket, and the one thing a reader sends back.
 *
 *   edge → reader   {"t":"hello","impId","window"}            once, when the socket opens
 *                   {"t":"line","seq","line":{…}}             one per agent request
 *                   {"t":"dropped","count"}                   lines the reader missed
 *   reader → edge   {"t":"ack","seq"}                         lines up to seq were read
 *
 * Flow control: the edge keeps at most `window` lines unacknowledged per socket; past that,
 * lines are dropped and counted (never buffered), and the count is sent once the reader
 * catches up. A reader acknowledges as it goes (every few lines, and when it goes quiet).
 *
 * A line never holds a secret: not the agent id (the path is the part after it), not the
 * query (only whether there was one: a value could be a token), no header, no body, no
 * address. The credential is named by its id, which the admin lists anyway.
 */

export interface TailLine {
  /** When the edge took the request (epoch ms). */
  at: number;
  method: string;
  /** The canonical path after the agent id (protocol/canonical-path.ts); null if it had none (400 bad_path). */
  path: string | null;
  /** Whether the request had a query string (its content is never shown). */
  query: boolean;
  status: number;
  /** From the edge taking the request to its answer. */
  ms: number;
  /** The credential the caller was admitted with, else the id a verified token named; null: none known. */
  cred: string | null;
  /** The error code of a refusal (`unauthorized`, `rate_limited`, `device_offline`, …). */
  code?: string;
}

export type TailFrame =
  | { t: "hello"; impId: string; window: number }
  | { t: "line"; seq: number; line: TailLine }
  | { t: "dropped"; count: number };

export interface TailAck {
  t: "ack";
  seq: number;
}

/** The longest frame a reader may send: an ack. */
export const MAX_TAIL_ACK_BYTES = 64;

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isLine(v: unknown): v is TailLine {
  if (typeof v !== "object" || v === null) return false;
  const l = v as Record<string, unknown>;
  return (
    isCount(l.at) &&
    typeof l.method === "string" &&
    (typeof l.path === "string" || l.path === null) &&
    typeof l.query === "boolean" &&
    isCount(l.status) &&
    isCount(l.ms) &&
    (typeof l.cred === "string" || l.cred === null) &&
    (l.code === undefined || typeof l.code === "string")
  );
}

/** A frame from the edge, or null for anything else (a reader skips what it does not know). */
export function parseTailFrame(text: string): TailFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const f = v as Record<string, unknown>;
  if (f.t === "hello" && typeof f.impId === "string" && isCount(f.window)) return { t: "hello", impId: f.impId, window: f.window };
  if (f.t === "line" && isCount(f.seq) && isLine(f.line)) return { t: "line", seq: f.seq, line: f.line };
  if (f.t === "dropped" && isCount(f.count)) return { t: "dropped", count: f.count };
  return null;
}

/** A reader's ack, or null for anything else (the edge closes a socket that sends one). */
export function parseTailAck(data: string | ArrayBuffer): TailAck | null {
  if (typeof data !== "string" || data.length > MAX_TAIL_ACK_BYTES) return null;
  try {
    const v = JSON.parse(data) as Record<string, unknown> | null;
    return v?.t === "ack" && isCount(v.seq) ? { t: "ack", seq: v.seq } : null;
  } catch {
    return null;
  }
}
