/** Caller scopes: the grammar the CLI takes, and what a scope lets through on the canonical path. */
import { describe, expect, it } from "vitest";
import {
  ConstraintError,
  canonicalPath,
  formatScope,
  intersectScopes,
  methodOverrides,
  narrowScope,
  parseScope,
  parseScopeEntry,
  permits,
  requiredAccess,
  type Scope,
  scopeFromClaim,
  UNRESTRICTED_SCOPE,
} from "../../protocol/index.ts";

/** Whether `scope` lets `method raw` through, the raw path canonicalised as the edge does. */
function allows(scope: Scope | string[], method: string, raw: string, overrides?: string[]): boolean {
  const canonical = canonicalPath(raw);
  if (!canonical.ok) return false;
  const parsed = Array.isArray(scope) && typeof scope[0] === "string" ? parseScope(scope as string[]) : (scope as Scope);
  return permits(parsed, { method, canonicalPath: canonical.path, methodOverrides: overrides });
}

function syntaxError(text: string): string {
  try {
    parseScopeEntry(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConstraintError);
    expect((err as ConstraintError).code).toBe("ERR_SCOPE_SYNTAX");
    return (err as Error).message;
  }
  throw new Error(`${text} parsed`);
}

describe("scope grammar", () => {
  it("takes relay entries, agent APIs and the sealed path", () => {
    expect(parseScopeEntry("POST /hooks/github")).toMatchObject({ kind: "relay", method: "POST" });
    expect(parseScopeEntry("* /**")).toMatchObject({ kind: "relay", method: "*" });
    for (const api of ["messages:write", "messages:read", "events:read", "state:read", "state:write", "sealed"]) {
      expect(parseScopeEntry(api)).toEqual({ kind: "api", api, text: api });
    }
    expect(formatScope(parseScope(["events:read", "GET /a/*/b", "events:read"]))).toEqual(["events:read", "GET /a/*/b"]);
  });

  it("refuses what it cannot read, saying why in one line", () => {
    expect(syntaxError("post /hooks")).toContain("methods are upper case (POST)");
    expect(syntaxError("POST hooks")).toContain("starts with /");
    expect(syntaxError("POST")).toContain("METHOD /path");
    expect(syntaxError("events:write")).toContain("METHOD /path");
    expect(syntaxError("POST  /hooks")).toContain("starts with /");
    expect(syntaxError("G-T /x")).toContain("is not a method");
    expect(syntaxError("GET /hooks/../admin")).toContain("canonical form: /admin");
    expect(syntaxError("GET /%7Euser")).toContain("canonical form: /~user");
    expect(syntaxError("GET /a//b")).toContain("canonical form: /a/b");
    expect(syntaxError("GET /**/x")).toContain("last segment");
    expect(syntaxError("GET /a*")).toContain("whole segment");
    expect(syntaxError("GET /files/..%2Fadmin")).toContain("cannot be scoped");
    expect(syntaxError("GET /files/%252E%252E")).toContain("cannot be scoped");
    expect(syntaxError("GET /_state")).toContain("impgate's own");
    expect(syntaxError("GET /%5Fstate")).toContain("canonical form");
    expect(syntaxError("GET /_STATE/x")).toContain("impgate's own");
    expect(() => parseScope([])).toThrow(/at least one entry/);
    for (const claim of ["POST /x", [1], null, {}]) expect(() => scopeFromClaim(claim)).toThrow(ConstraintError);
  });
});

describe("what a scope permits", () => {
  it("matches literal segments exactly, * as one segment, ** as the rest", () => {
    const scope = ["POST /hooks/github", "GET /hooks/*", "PUT /files/**"];
    expect(allows(scope, "POST", "/hooks/github")).toBe(true);
    expect(allows(scope, "POST", "/hooks/gitlab")).toBe(false);
    expect(allows(scope, "GET", "/hooks/gitlab")).toBe(true);
    expect(allows(scope, "GET", "/hooks")).toBe(false);
    expect(allows(scope, "GET", "/hooks/")).toBe(false);
    expect(allows(scope, "GET", "/hooks/a/b")).toBe(false);
    expect(allows(scope, "PUT", "/files")).toBe(true);
    expect(allows(scope, "PUT", "/files/")).toBe(true);
    expect(allows(scope, "PUT", "/files/a/b/c/")).toBe(true);
    expect(allows(scope, "PUT", "/filesystem")).toBe(false);
    // A trailing slash is another path.
    expect(allows(scope, "POST", "/hooks/github/")).toBe(false);
    expect(allows(["GET /"], "GET", "")).toBe(true);
    expect(allows(["GET /"], "GET", "/a")).toBe(false);
  });

  it("compares methods exactly: GET allows HEAD, * allows any, nothing else", () => {
    expect(allows(["GET /a"], "HEAD", "/a")).toBe(true);
    expect(allows(["HEAD /a"], "GET", "/a")).toBe(false);
    expect(allows(["POST /a"], "post", "/a")).toBe(false);
    expect(allows(["POST /a"], "PUT", "/a")).toBe(false);
    expect(allows(["* /a"], "PATCH", "/a")).toBe(true);
  });

  it("is decided on the canonical path: encodings, dots and slashes reach the same answer", () => {
    const scope = ["POST /hooks/github"];
    for (const raw of ["/hooks/github", "/hooks/%67ithub", "//hooks///github", "/x/../hooks/./github", "/hooks/%2E/github"]) {
      expect(allows(scope, "POST", raw), raw).toBe(true);
    }
    for (const raw of [
      "/HOOKS/github",
      "/hooks/GitHub",
      "/hooks/github/../../admin",
      "/hooks/github;x",
      "/hooks%2Fgithub",
      "/hooks/github%00",
    ]) {
      expect(allows(scope, "POST", raw), raw).toBe(false);
    }
  });

  it("refuses a segment that a decoding service would read as another path", () => {
    const scope = ["GET /files/**", "GET /one/*"];
    expect(allows(scope, "GET", "/files/a%2Fb")).toBe(true);
    for (const raw of ["/files/..%2Fadmin", "/files/..;/admin", "/files/%252E%252E/admin", "/files/..%5Cadmin", "/one/a%2Fb"]) {
      expect(allows(scope, "GET", raw), raw).toBe(false);
    }
  });

  it("never lets a relay entry reach impgate's own paths", () => {
    for (const raw of ["/_state", "/_messages", "/%5Fevents", "/_STATE/x", "/_sealed", "/_anything"]) {
      expect(allows(["* /**"], "GET", raw), raw).toBe(false);
      expect(allows(["* /*"], "POST", raw), raw).toBe(false);
    }
  });

  it("maps the agent's APIs to their scopes, reads apart from writes", () => {
    expect(requiredAccess("POST", "/_messages")).toEqual({ kind: "api", api: "messages:write" });
    expect(requiredAccess("GET", "/_messages/m1")).toEqual({ kind: "api", api: "messages:read" });
    expect(requiredAccess("GET", "/_events")).toEqual({ kind: "api", api: "events:read" });
    expect(requiredAccess("HEAD", "/_state")).toEqual({ kind: "api", api: "state:read" });
    expect(requiredAccess("PUT", "/_state/door")).toEqual({ kind: "api", api: "state:write" });
    expect(requiredAccess("DELETE", "/_STATE/door")).toEqual({ kind: "api", api: "state:write" });
    expect(requiredAccess("POST", "/_sealed")).toEqual({ kind: "api", api: "sealed" });
    expect(requiredAccess("POST", "/_auth/token")).toEqual({ kind: "public" });
    expect(requiredAccess("GET", "/_impgate/x")).toEqual({ kind: "reserved" });
    const reader = parseScope(["state:read", "events:read"]);
    expect(permits(reader, { method: "GET", canonicalPath: "/_state/door" })).toBe(true);
    expect(permits(reader, { method: "PUT", canonicalPath: "/_state/door" })).toBe(false);
    expect(permits(reader, { method: "POST", canonicalPath: "/_messages" })).toBe(false);
    expect(permits(reader, { method: "POST", canonicalPath: "/_sealed" })).toBe(false);
    expect(permits(reader, { method: "GET", canonicalPath: "/anything" })).toBe(false);
    expect(permits(parseScope([...UNRESTRICTED_SCOPE]), { method: "GET", canonicalPath: "/_impgate" })).toBe(false);
  });

  it("does not honour method overrides: an override must itself be in scope", () => {
    const scope = ["POST /hooks/github"];
    const headers = new Headers({ "x-http-method-override": "delete" });
    const overrides = methodOverrides(headers, new URLSearchParams("_method=put&_METHOD=patch"), new URLSearchParams("_method=get"));
    expect(overrides).toEqual(["DELETE", "PUT", "PATCH", "GET"]);
    expect(allows(scope, "POST", "/hooks/github", overrides)).toBe(false);
    expect(allows(scope, "POST", "/hooks/github", ["DELETE"])).toBe(false);
    expect(allows(scope, "POST", "/hooks/github", ["POST"])).toBe(true);
    expect(allows(["* /hooks/github"], "POST", "/hooks/github", overrides)).toBe(true);
    expect(methodOverrides(new Headers({ "x-http-method": "GET, DELETE" }), new URLSearchParams())).toEqual(["GET", "DELETE"]);
  });
});

describe("narrowing and intersecting", () => {
  const granted = parseScope(["* /hooks/**", "GET /status", "events:read"]);

  it("lets a token ask for less and refuses anything wider", () => {
    expect(formatScope(narrowScope(granted, parseScope(["POST /hooks/github", "HEAD /status", "events:read"])))).toEqual([
      "POST /hooks/github",
      "HEAD /status",
      "events:read",
    ]);
    for (const wider of ["state:read", "* /**", "POST /status", "GET /status/x", "GET /*", "GET /hooks2"]) {
      expect(() => narrowScope(granted, parseScope([wider])), wider).toThrow(
        expect.objectContaining({ code: "ERR_SCOPE_TOO_WIDE", message: expect.stringContaining(wider) }),
      );
    }
  });

  it("intersects entry by entry", () => {
    expect(formatScope(intersectScopes(granted, parseScope(["POST /*/github", "GET /**", "events:read", "state:read"])))).toEqual([
      "POST /hooks/github",
      "GET /hooks/**",
      "GET /status",
      "events:read",
    ]);
    expect(intersectScopes(parseScope(["GET /a"]), parseScope(["POST /a"]))).toEqual([]);
    expect(formatScope(intersectScopes(parseScope(["GET /a"]), parseScope(["HEAD /*"])))).toEqual(["HEAD /a"]);
  });
});
