/**
 * A credential's expiry and its own rate limit, as the CLI takes them (`--expires`,
 * `--rate`) and the admin API stores them. Parsers throw `ConstraintError` with one
 * readable line; nothing here reads a clock unless given one.
 */
import { ConstraintError } from "./constraint-error.ts";

/** The longest relative expiry: ten years. A credential meant to live longer should not expire at all. */
export const MAX_EXPIRES_S = 3650 * 86_400;

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * When a credential expires, in Unix seconds, from `--expires`: a duration in hours, days
 * or weeks (`12h`, `30d`, `2w`), an RFC 3339 date-time (`2027-01-01T00:00:00Z`, an offset
 * allowed) or a date (`2027-01-01`, midnight UTC); `never` gives null (no expiry, for
 * `cred set`). Minutes and months are not offered: `6m` would be read both ways.
 *
 * @example
 * ```ts
 * parseExpires("30d", Date.now());                   // now + 30 days, in seconds
 * parseExpires("2027-01-01T00:00:00Z", Date.now());  // 1798761600
 * parseExpires("yesterday", Date.now());             // throws ConstraintError ERR_EXPIRES_SYNTAX
 * ```
 */
export function parseExpires(text: string, nowMs: number): number | null {
  const fail = (why: string): never => {
    throw new ConstraintError("ERR_EXPIRES_SYNTAX", `--expires ${JSON.stringify(text.slice(0, 64))}: ${why}`);
  };
  const now = Math.floor(nowMs / 1000);
  if (text === "never") return null;
  const relative = /^([1-9]\d{0,5})([hdw])$/.exec(text);
  if (relative) {
    const seconds = Number(relative[1]) * (UNIT_S[relative[2] ?? ""] ?? 0);
    if (seconds > MAX_EXPIRES_S) fail("at most 3650d (ten years)");
    return now + seconds;
  }
  if (/^\d+(?:m|mo|min|s|y)$/.test(text)) fail("give hours, days or weeks (12h, 30d, 2w), or a date");
  let at: number | undefined;
  const date = DATE.exec(text);
  if (date) {
    at = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]));
    if (new Date(at).toISOString().slice(0, 10) !== text) fail("no such date");
  } else if (DATE_TIME.test(text)) {
    at = Date.parse(text);
    // Date.parse rolls 2027-02-30 over to March; the calendar fields must survive a round trip.
    const local = text.slice(0, 19);
    const offset = text.endsWith("Z") ? 0 : (text.at(-6) === "-" ? -1 : 1) * (Number(text.slice(-5, -3)) * 60 + Number(text.slice(-2)));
    if (Number.isNaN(at) || new Date(at + offset * 60_000).toISOString().slice(0, 19) !== local) fail("no such date and time");
  } else {
    return fail("expected a duration (30d, 12h, 2w), a date (2027-01-01) or a date-time (2027-01-01T00:00:00Z), or never");
  }
  const seconds = Math.floor(at / 1000);
  if (seconds <= now) fail("that time has passed");
  return seconds;
}

/** A rate limit: at most `count` requests per `periodS` seconds. */
export interface Rate {
  count: number;
  periodS: number;
}

/** The largest count a rate may name (per period). */
export const MAX_RATE_COUNT = 1_000_000;

/**
 * A credential's own rate limit from `--rate`: `<count>/<unit>` with unit `s`, `m`, `h`
 * or `d` (`60/m`, `10/s`, `1000/h`); `none` gives null (no limit of its own, for `cred set`).
 *
 * @example
 * ```ts
 * parseRate("60/m"); // { count: 60, periodS: 60 }
 * parseRate("60");   // throws ConstraintError ERR_RATE_SYNTAX
 * ```
 */
export function parseRate(text: string): Rate | null {
  if (text === "none") return null;
  const m = /^([1-9]\d{0,6})\/([smhd])$/.exec(text);
  const count = Number(m?.[1]);
  if (!m || count > MAX_RATE_COUNT) {
    throw new ConstraintError(
      "ERR_RATE_SYNTAX",
      `--rate ${JSON.stringify(text.slice(0, 64))}: expected <count>/<s|m|h|d> with a count from 1 to ${MAX_RATE_COUNT} (e.g. 60/m), or none`,
    );
  }
  return { count, periodS: UNIT_S[m[2] ?? ""] ?? 1 };
}

/**
 * A rate as the CLI writes it.
 *
 * @example
 * ```ts
 * formatRate({ count: 60, periodS: 60 }); // "60/m"
 * ```
 */
export function formatRate(rate: Rate): string {
  const unit = Object.entries(UNIT_S).find(([u, s]) => s === rate.periodS && u !== "w")?.[0];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodS}s`;
}
