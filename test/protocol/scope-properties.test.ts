/**
 * Scopes from the attacker's side, as properties: no spelling of a path gets a request
 * further than its canonical form and its most liberal reading both allow, and narrowing
 * or intersecting a scope never grants more than the scopes it came from.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalPath,
  comparablePath,
  intersectScopes,
  isReservedAgentPath,
  narrowScope,
  parseScopeEntry,
  permits,
  type Scope,
  type ScopedRequest,
  type ScopeEntry,
} from "../../protocol/index.ts";
import { spellingsOf } from "../helpers/path-variants.ts";

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** An independent reading of a pattern: a regular expression over a path, exact or loose. */
function patternRegex(pattern: string, loose: boolean): RegExp {
  if (pattern === "/") return /^\/$/;
  let source = "^";
  const segments = pattern.slice(1).split("/");
  for (const [i, seg] of segments.entries()) {
    if (seg === "**") {
      source += "(?:/.*)?";
      break;
    }
    if (loose && seg === "" && i === segments.length - 1) break;
    const lit = loose ? comparablePath(`/${seg}`).slice(1) : seg;
    source += `/${seg === "*" ? "[^/]+" : escapeRegex(lit)}`;
  }
  return new RegExp(`${source === "^" ? "^/" : source}$`);
}

function canon(raw: string): string | null {
  const c = canonicalPath(raw);
  return c.ok ? c.path : null;
}

const literal = fc.constantFrom("a", "b", "A", "hooks", "github", "caf%C3%A9", "~u", "a;b", "%2A", "");
const patternText = fc
  .tuple(fc.array(fc.oneof(literal, fc.constant("*")), { maxLength: 4 }), fc.boolean())
  .map(([segs, rest]) => `/${[...segs, ...(rest ? ["**"] : [])].join("/")}`);
const relayEntry = fc
  .tuple(fc.constantFrom("GET", "HEAD", "POST", "PUT", "*"), patternText)
  .map(([m, p]) => {
    try {
      return parseScopeEntry(`${m} ${p}`);
    } catch {
      return null;
    }
  })
  .filter((e): e is ScopeEntry => e !== null);
const apiEntry = fc
  .constantFrom("messages:write", "messages:read", "events:read", "state:read", "state:write", "sealed")
  .map(parseScopeEntry);
const scopeArb: fc.Arbitrary<Scope> = fc.array(fc.oneof({ weight: 4, arbitrary: relayEntry }, { weight: 1, arbitrary: apiEntry }), {
  minLength: 1,
  maxLength: 4,
});

/** Raw request paths over the same alphabet, plus what an attacker adds. */
const rawSegment = fc.constantFrom(
  "a",
  "b",
  "A",
  "hooks",
  "github",
  "caf%C3%A9",
  "caf%c3%a9",
  "~u",
  "%7Eu",
  "a;b",
  "%2A",
  "*",
  "",
  ".",
  "..",
  "..;",
  "%2E%2E",
  "%252E%252E",
  "..%2Fa",
  "a%2Fb",
  "a%5Cb",
  "_state",
  "%5Fmessages",
  "_sealed",
);
const rawPath = fc.array(rawSegment, { maxLength: 6 }).map((segs) => `/${segs.join("/")}`);
const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "post");
const request = fc
  .tuple(method, rawPath)
  .map(([m, raw]): ScopedRequest | null => {
    const canonical = canon(raw);
    return canonical === null ? null : { method: m, canonicalPath: canonical };
  })
  .filter((r): r is ScopedRequest => r !== null);

describe("scope properties", () => {
  it("a relay entry permits exactly the paths both its canonical and its loose reading match", () => {
    fc.assert(
      fc.property(relayEntry, request, (entry, req) => {
        if (entry.kind !== "relay") return;
        const allowed = permits([entry], req);
        const methodOk = entry.method === "*" || entry.method === req.method || (entry.method === "GET" && req.method === "HEAD");
        const expected =
          methodOk &&
          !isReservedAgentPath(req.canonicalPath) &&
          patternRegex(entry.path.text, false).test(req.canonicalPath) &&
          patternRegex(entry.path.text, true).test(comparablePath(req.canonicalPath));
        expect(allowed).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("no spelling of an out-of-scope path gets in, however it is dressed under an allowed prefix", () => {
    // Each scope, a path under it to dress the attack in, and paths outside it.
    const cases: [string, string, string[]][] = [
      ["POST /hooks/github", "/hooks/github", ["/admin", "/_state/door", "/hooks/gitlab"]],
      ["GET /public/**", "/public", ["/admin", "/_state/door", "/public2/x"]],
      ["GET /hooks/*", "/hooks/x", ["/admin", "/_messages", "/hooks/x/y"]],
      ["* /**", "", ["/_state/door", "/_messages", "/_sealed"]],
    ];
    const climb = fc.constantFrom("", "/..", "/%2E%2E", "/.%2e", "/..;", "/..%2F", "/%252E%252E", "/..%5C", "/%2e%2e%2f", "/..;x=1");
    const attack = fc
      .constantFrom(...cases)
      .chain(([scope, prefix, targets]) =>
        fc.constantFrom(...targets).chain((t) => fc.tuple(fc.constant(scope), fc.constant(prefix), fc.constant(t), spellingsOf(t))),
      );
    fc.assert(
      fc.property(attack, climb, ([scopeText, prefix, target, spelling], up) => {
        const raw = `${prefix}${up}${spelling}`;
        const canonical = canon(raw);
        if (canonical === null) return; // refused before any scope is read
        const entry = parseScopeEntry(scopeText);
        if (entry.kind !== "relay") return;
        const method = entry.method === "*" ? "POST" : entry.method;
        const allowed = permits([entry], { method, canonicalPath: canonical });
        // Whatever a liberal service reads as the target is refused…
        if (comparablePath(canonical) === comparablePath(target)) expect(allowed, `${scopeText}: ${raw} → ${canonical}`).toBe(false);
        // …and anything let through is inside the pattern in both readings.
        if (allowed) {
          expect(isReservedAgentPath(canonical)).toBe(false);
          expect(patternRegex(entry.path.text, false).test(canonical), raw).toBe(true);
          expect(patternRegex(entry.path.text, true).test(comparablePath(canonical)), raw).toBe(true);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it("an intersection never permits what either side refuses", () => {
    let permitted = 0;
    fc.assert(
      fc.property(scopeArb, scopeArb, request, (a, b, req) => {
        if (permits(intersectScopes(a, b), req)) {
          permitted++;
          expect(permits(a, req)).toBe(true);
          expect(permits(b, req)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
    expect(permitted).toBeGreaterThan(50);
  });

  it("a narrowed scope never permits what the granted one refuses, and an intersection always narrows", () => {
    let permitted = 0;
    fc.assert(
      fc.property(scopeArb, scopeArb, request, (granted, asked, req) => {
        let narrowed: Scope;
        try {
          narrowed = narrowScope(granted, asked);
        } catch {
          narrowed = narrowScope(granted, intersectScopes(granted, asked));
        }
        if (permits(narrowed, req)) {
          permitted++;
          expect(permits(granted, req)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
    expect(permitted).toBeGreaterThan(50);
  });
});
