/**
 * Client address ranges for `--from`: IPv4 and IPv6 CIDR blocks, and the check of a
 * client's address against them. Every address is held as 128 bits, an IPv4 address as
 * its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so `203.0.113.0/24`
 * matches a client seen as `203.0.113.7` or as `::ffff:203.0.113.7` alike.
 *
 * Strict on input, as `ip` and Python's `ipaddress` are: no leading zeros in IPv4 parts
 * (`010.0.0.1` is octal to some parsers), no zone ids, no host bits set in a range.
 */
import { ConstraintError } from "./constraint-error.ts";

/** A parsed range; `text` is its spelling for listing. */
export interface Cidr {
  readonly text: string;
  /** The network, as 128 bits (IPv4 mapped). */
  readonly base: bigint;
  /** Prefix length over the 128 bits (an IPv4 /24 is 120). */
  readonly bits: number;
}

const MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string | undefined): bigint[] | null => {
    if (!half) return [];
    const out: bigint[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        out.push(BigInt(`0x${part}`));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0]?.includes(".")) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...Array<bigint>(missing).fill(0n), ...tail].reduce((acc, g) => (acc << 16n) | g, 0n);
}

/**
 * A client address (IPv4 or IPv6, as `CF-Connecting-IP` gives it) as 128 bits, IPv4
 * mapped; null if it is not one.
 *
 * @example
 * ```ts
 * parseAddress("203.0.113.7") === parseAddress("::ffff:203.0.113.7"); // true
 * ```
 */
export function parseAddress(text: string): bigint | null {
  if (text.length > 64) return null;
  if (text.includes(":")) return parseIpv6(text);
  const v4 = parseIpv4(text);
  return v4 === null ? null : MAPPED | v4;
}

/**
 * Parses a `--from` value: `203.0.113.0/24`, `2001:db8::/32`, or a single address (a /32
 * or /128). Throws `ConstraintError` (`ERR_CIDR_SYNTAX`) with the reason, and for a range
 * with host bits set, the range that was probably meant.
 *
 * @example
 * ```ts
 * const office = parseCidr("203.0.113.0/24");
 * parseCidr("203.0.113.5/24"); // throws: did you mean 203.0.113.0/24?
 * ```
 */
export function parseCidr(text: string): Cidr {
  const fail = (why: string): never => {
    throw new ConstraintError("ERR_CIDR_SYNTAX", `--from ${JSON.stringify(text.slice(0, 64))}: ${why}`);
  };
  const [address = "", prefix, extra] = text.split("/");
  if (extra !== undefined) fail("expected an address or address/prefix");
  const v6 = address.includes(":");
  const value = parseAddress(address);
  if (value === null) return fail(`not an IPv${v6 ? 6 : 4} address`);
  const width = v6 ? 128 : 32;
  let length = width;
  if (prefix !== undefined) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(prefix) || Number(prefix) > width) fail(`the prefix length must be 0 to ${width}`);
    length = Number(prefix);
  }
  const bits = length + (128 - width);
  const mask = bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
  const base = value & mask;
  if (base !== value) {
    const network = v6 ? formatIpv6(base) : formatIpv4(base & 0xffffffffn);
    fail(`host bits are set; did you mean ${network}/${length}?`);
  }
  return { text: v6 ? `${address.toLowerCase()}/${length}` : `${address}/${length}`, base, bits };
}

/**
 * Whether `address` (text, as the edge sees the client) lies in `range`; false if it is no address.
 *
 * @example
 * ```ts
 * cidrContains(parseCidr("203.0.113.0/24"), "::ffff:203.0.113.7"); // true
 * ```
 */
export function cidrContains(range: Cidr, address: string): boolean {
  const value = parseAddress(address);
  if (value === null) return false;
  const mask = range.bits === 0 ? 0n : (ALL << BigInt(128 - range.bits)) & ALL;
  return (value & mask) === range.base;
}

/**
 * Whether `address` lies in any of `ranges` (a credential's `--from` list). An unreadable
 * address is in none.
 *
 * @example
 * ```ts
 * const from = ["203.0.113.0/24", "2001:db8::/32"].map(parseCidr);
 * addressAllowed(from, request.headers.get("cf-connecting-ip") ?? ""); // true or false
 * ```
 */
export function addressAllowed(ranges: readonly Cidr[], address: string): boolean {
  return ranges.some((range) => cidrContains(range, address));
}

function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
}

function formatIpv6(v: bigint): string {
  // Full form, without compression: only for the "did you mean" hint.
  return Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":");
}
