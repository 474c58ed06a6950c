/**
 * The two frames on every relayed request's path, `req` (edge → device) and `res` (device →
 * edge), checked by hand: zod runs its slower eval-free path in workerd, and these two are
 * most of the frames a busy link carries. The rules are those of their schemas in
 * ./messages.ts, and test/protocol/hot-frames.test.ts checks, over generated headers, that
 * whatever is accepted here zod accepts with the same output. Anything not accepted here is
 * left to zod (undefined), which also words the refusal; so a rule missed here only costs
 * speed, never lets a frame through that the schema refuses.
 */
import type { MessageOf } from "./messages.ts";

type Pairs = [string, string][];

const isId = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= 64;
const isText = (v: unknown, max: number): v is string => typeof v === "string" && v.length <= max;

/** Header pairs as `headerPairs` in ./messages.ts: at most 256, names ≤ 256 and values ≤ 8192 characters. */
function pairs(v: unknown): Pairs | undefined {
  if (!Array.isArray(v) || v.length > 256) return undefined;
  const out: Pairs = [];
  for (const pair of v) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined;
    const [name, value] = pair as unknown[];
    if (!isText(name, 256) || !isText(value, 8192)) return undefined;
    out.push([name, value]);
  }
  return out;
}

function res(h: Record<string, unknown>): MessageOf<"res"> | undefined {
  const { id, status } = h;
  if (!isId(id) || typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers = pairs(h.headers);
  return headers && { t: "res", id, status, headers };
}

function req(h: Record<string, unknown>): MessageOf<"req"> | undefined {
  const { id, method, path, query, deadline } = h;
  if (!isId(id) || !isText(method, 16) || method.length === 0 || !isText(path, 8192) || !isText(query, 8192)) return undefined;
  if (typeof deadline !== "number" || !Number.isFinite(deadline)) return undefined;
  const headers = pairs(h.headers);
  return headers && { t: "req", id, method, path, query, headers, deadline };
}

/** A `req` or `res` header, as its schema would output it; undefined for anything else (zod decides). */
export function hotMessage(header: Record<string, unknown>): MessageOf<"req"> | MessageOf<"res"> | undefined {
  if (header.t === "res") return res(header);
  if (header.t === "req") return req(header);
  return undefined;
}
