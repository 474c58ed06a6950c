/** A credential's expiry, rate and client ranges as the CLI takes them, and the one check that applies them. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressAllowed,
  type ConstraintError,
  checkCallerConstraints,
  cidrContains,
  formatRate,
  parseAddress,
  parseCidr,
  parseExpires,
  parseRate,
  parseScope,
} from "../../protocol/index.ts";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const NOW_S = NOW / 1000;

function refusal(fn: () => unknown): ConstraintError {
  try {
    fn();
  } catch (err) {
    return err as ConstraintError;
  }
  throw new Error("accepted");
}

describe("--expires", () => {
  it("takes hours, days, weeks, dates and date-times, and never", () => {
    expect(parseExpires("12h", NOW)).toBe(NOW_S + 12 * 3600);
    expect(parseExpires("30d", NOW)).toBe(NOW_S + 30 * 86_400);
    expect(parseExpires("2w", NOW)).toBe(NOW_S + 14 * 86_400);
    expect(parseExpires("2027-01-01T00:00:00Z", NOW)).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(parseExpires("2027-01-01T02:00:00+02:00", NOW)).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(parseExpires("2027-01-01T00:00:00.5Z", NOW)).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(parseExpires("2027-01-01", NOW)).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(parseExpires("never", NOW)).toBeNull();
  });

  it("refuses the ambiguous, the impossible and the past, in one line", () => {
    for (const [text, why] of [
      ["6m", "hours, days or weeks"],
      ["30", "expected a duration"],
      ["0d", "expected a duration"],
      ["-1d", "expected a duration"],
      ["3651d", "ten years"],
      ["2027-02-30", "no such date"],
      ["2027-02-30T00:00:00Z", "no such date"],
      ["2027-01-01T24:00:00Z", "no such date"],
      ["2027-01-01T00:00:00", "expected a duration"],
      ["2020-01-01", "has passed"],
      ["tomorrow", "expected a duration"],
    ]) {
      const err = refusal(() => parseExpires(text as string, NOW));
      expect(err.code, text).toBe("ERR_EXPIRES_SYNTAX");
      expect(err.message, text).toContain(why);
      expect(err.message).not.toContain("\n");
    }
  });
});

describe("--rate", () => {
  it("takes <count>/<s|m|h|d> and none", () => {
    expect(parseRate("60/m")).toEqual({ count: 60, periodS: 60 });
    expect(parseRate("10/s")).toEqual({ count: 10, periodS: 1 });
    expect(parseRate("1000/h")).toEqual({ count: 1000, periodS: 3600 });
    expect(parseRate("5/d")).toEqual({ count: 5, periodS: 86_400 });
    expect(parseRate("none")).toBeNull();
    expect(formatRate({ count: 60, periodS: 60 })).toBe("60/m");
  });

  it("refuses anything else", () => {
    for (const text of ["60", "60/min", "0/m", "1.5/s", "60/ m", "2000000/s", "/m", "60/w"]) {
      expect(refusal(() => parseRate(text)).code, text).toBe("ERR_RATE_SYNTAX");
    }
  });
});

describe("--from", () => {
  it("matches IPv4 and IPv6 ranges, IPv4-mapped IPv6 clients included", () => {
    const office = parseCidr("203.0.113.0/24");
    expect(cidrContains(office, "203.0.113.7")).toBe(true);
    expect(cidrContains(office, "::ffff:203.0.113.7")).toBe(true);
    expect(cidrContains(office, "::FFFF:cb00:7107")).toBe(true);
    expect(cidrContains(office, "203.0.114.1")).toBe(false);
    expect(cidrContains(office, "::203.0.113.7")).toBe(false);
    expect(cidrContains(office, "2001:db8::1")).toBe(false);
    const v6 = parseCidr("2001:DB8::/32");
    expect(v6.text).toBe("2001:db8::/32");
    expect(cidrContains(v6, "2001:db8:ffff::1")).toBe(true);
    expect(cidrContains(v6, "2001:db9::1")).toBe(false);
    expect(cidrContains(v6, "203.0.113.7")).toBe(false);
    expect(cidrContains(parseCidr("0.0.0.0/0"), "198.51.100.1")).toBe(true);
    expect(cidrContains(parseCidr("0.0.0.0/0"), "2001:db8::1")).toBe(false);
    expect(cidrContains(parseCidr("::/0"), "198.51.100.1")).toBe(true);
    expect(cidrContains(parseCidr("198.51.100.1"), "198.51.100.1")).toBe(true);
    expect(cidrContains(parseCidr("198.51.100.1"), "198.51.100.2")).toBe(false);
    expect(addressAllowed([office, v6], "garbage")).toBe(false);
    expect(addressAllowed([], "203.0.113.7")).toBe(false);
  });

  it("refuses what is not an address or range, and host bits with a hint", () => {
    expect(refusal(() => parseCidr("203.0.113.5/24")).message).toContain("did you mean 203.0.113.0/24?");
    expect(refusal(() => parseCidr("2001:db8::1/32")).message).toContain("did you mean 2001:db8:0:0:0:0:0:0/32?");
    for (const text of [
      "203.0.113.0/33",
      "010.0.0.1",
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4/024",
      "1.2.3.4/",
      "1.2.3.4/8/8",
      "2001:db8::/129",
      "2001:db8:::1",
      "1::2::3",
      "fe80::1%eth0",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1.2.3.4::",
      "",
    ]) {
      expect(refusal(() => parseCidr(text)).code, text).toBe("ERR_CIDR_SYNTAX");
    }
  });

  it("reads every IPv4 address the same in both spellings", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(parseAddress(`::ffff:${ip}`)).toBe(parseAddress(ip));
        expect(cidrContains(parseCidr(`${ip}/32`), `::ffff:${ip}`)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        expect(cidrContains(parseCidr(`${ip}/128`), ip)).toBe(true);
      }),
    );
  });
});

describe("the constraints of a credential, checked together", () => {
  const constraints = {
    scopes: [parseScope(["POST /hooks/github", "events:read"])],
    expiresAt: NOW_S + 60,
    from: [parseCidr("203.0.113.0/24")],
  };
  const hook = { method: "POST", canonicalPath: "/hooks/github" };

  it("pass a request inside all of them", () => {
    expect(checkCallerConstraints(constraints, { nowS: NOW_S, clientAddress: "203.0.113.9", request: hook })).toBeNull();
  });

  it("refuse an expired credential, a client elsewhere, and a request outside the scope", () => {
    expect(checkCallerConstraints(constraints, { nowS: NOW_S + 60, clientAddress: "203.0.113.9", request: hook })).toBe("expired");
    expect(checkCallerConstraints(constraints, { nowS: NOW_S, clientAddress: "198.51.100.1", request: hook })).toBe("address_not_allowed");
    expect(
      checkCallerConstraints(constraints, {
        nowS: NOW_S,
        clientAddress: "203.0.113.9",
        request: { method: "GET", canonicalPath: "/_state" },
      }),
    ).toBe("insufficient_scope");
  });

  it("hold a token to its credential's current scope as well as its own", () => {
    const narrowedSince = { ...constraints, scopes: [parseScope(["events:read"]), parseScope(["POST /hooks/github"])] };
    expect(checkCallerConstraints(narrowedSince, { nowS: NOW_S, clientAddress: "203.0.113.9", request: hook })).toBe("insufficient_scope");
    expect(
      checkCallerConstraints({ scopes: [], expiresAt: null, from: null }, { nowS: NOW_S, clientAddress: "x", request: hook }),
    ).toBeNull();
  });
});
