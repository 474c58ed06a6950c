/**
 * The throttling rule's promises, checked against attackers who guess whenever they are
 * let, or pause for as long as they like: the number of guesses in 30 days stays within the
 * stated bound, and so the chance of guessing a code stays below 1 in 10,000.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BOUND_PROBABILITY, BOUND_SPAN_MS, CODE_POLICIES, guessBound } from "../../durable-objects/code-guesses.ts";
import { type Backoff, type BackoffPolicy, failed, maxFailures, waitMs } from "../../edge/auth/backoff.ts";
import { clientKey } from "../../edge/client.ts";

/** Guesses an attacker gets in `span`, guessing as soon as allowed plus the extra pauses `pauses` picks. */
function guessesIn(policy: BackoffPolicy, span: number, pause: (i: number) => number): number {
  let state: Backoff | undefined;
  let now = 0;
  let n = 0;
  for (;;) {
    now += waitMs(state, now) + pause(n);
    if (now > span) return n;
    state = failed(state, policy, now);
    n++;
  }
}

describe("the guess budget of a rotating code", () => {
  it("keeps the chance of any guess succeeding in 30 days below 1 in 10,000, for 8 and 6 digits", () => {
    expect(guessBound(8)).toBeLessThan(BOUND_PROBABILITY);
    expect(guessBound(6)).toBeLessThan(BOUND_PROBABILITY);
    // The README's arithmetic.
    expect(maxFailures(CODE_POLICIES[8] as BackoffPolicy, BOUND_SPAN_MS)).toBe(2906);
    expect(maxFailures(CODE_POLICIES[6] as BackoffPolicy, BOUND_SPAN_MS)).toBe(31);
  });

  it("holds against an attacker who guesses as fast as allowed", () => {
    for (const digits of [8, 6]) {
      const policy = CODE_POLICIES[digits] as BackoffPolicy;
      const n = guessesIn(policy, BOUND_SPAN_MS, () => 0);
      expect(n).toBeLessThanOrEqual(maxFailures(policy, BOUND_SPAN_MS));
      // And the bound is not loose by much: the steady rate is one guess per leak period.
      expect(n).toBeGreaterThan(BOUND_SPAN_MS / policy.leakMs);
    }
  });

  it("holds against an attacker who pauses to let failures be forgiven, then bursts", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 6),
        fc.array(fc.integer({ min: 0, max: 4 * 86_400_000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 200 }),
        (digits, pauses, every) => {
          const policy = CODE_POLICIES[digits] as BackoffPolicy;
          const n = guessesIn(policy, BOUND_SPAN_MS, (i) => (i % every === 0 ? (pauses[(i / every) % pauses.length] ?? 0) : 0));
          expect(n).toBeLessThanOrEqual(maxFailures(policy, BOUND_SPAN_MS));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("makes the owner of an 8-digit code wait at most 15 minutes at a time", () => {
    const policy = CODE_POLICIES[8] as BackoffPolicy;
    let state: Backoff | undefined;
    for (let i = 0; i < 100; i++) state = failed(state, policy, 0);
    expect(waitMs(state, 0)).toBe(15 * 60_000);
  });
});

describe("whom failures are counted against", () => {
  it("counts IPv4 addresses whole and IPv6 addresses by their /64", () => {
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:1:2::ffff")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("::ffff:192.0.2.7")).toBe("::ffff:192.0.2.7");
    expect(clientKey("unknown")).toBe("unknown");
  });
});
