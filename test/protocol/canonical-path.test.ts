/** The one canonical form of an agent path, and the reserved-path checks that compare it. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalPath, isReservedAgentPath, isUnderPath } from "../../protocol/index.ts";
import { spellingsOf } from "../helpers/path-variants.ts";

const canon = (raw: string) => {
  const c = canonicalPath(raw);
  return c.ok ? c.path : `refused: ${c.reason}`;
};

/** Raw paths with the characters that matter here over-represented. */
const rawPath = fc
  .array(
    fc.oneof(fc.constantFrom("/", "%", ".", "2", "e", "E", "F", "5", "_", "~", ";", "\\", "%2F", "%2e", "%5F", "%00", "a"), fc.string()),
    {
      maxLength: 24,
    },
  )
  .map((parts) => `/${parts.join("")}`);

describe("canonical agent paths", () => {
  it("decode unreserved characters and nothing else, with upper-case hex for what stays encoded", () => {
    expect(canon("/%5Fimpgate/%6Dessages/%7e%41")).toBe("/_impgate/messages/~A");
    expect(canon("/a%2fb/c%20d/%e2%9c%93")).toBe("/a%2Fb/c%20d/%E2%9C%93");
    expect(canon("/q%3Fx%23y%25z")).toBe("/q%3Fx%23y%25z");
    // Characters that may not stand raw in a path are encoded as UTF-8.
    expect(canon("/a b/✓/\\")).toBe("/a%20b/%E2%9C%93/%5C");
  });

  it("merge slashes and resolve dot segments, encoded ones included", () => {
    expect(canon("")).toBe("/");
    expect(canon("//_state")).toBe("/_state");
    expect(canon("/./_messages")).toBe("/_messages");
    expect(canon("/a/b/../%2E%2e/c/.%2E/d/./")).toBe("/d/");
    expect(canon("/a//b///")).toBe("/a/b/");
    expect(canon("/a/..")).toBe("/");
    expect(canon("/.../a")).toBe("/.../a");
  });

  it("refuse what has no canonical form: bad percent-encoding, control characters, .. above the root", () => {
    for (const raw of [
      "/%",
      "/%4",
      "/%zz",
      "/a%2",
      "/%00",
      "/a%0d%0Ab",
      "/a\u0000b",
      "/\t",
      "/%7F",
      "/..",
      "/a/../..",
      "/%2E%2E/x",
      "a",
      "/\uD800",
    ]) {
      expect(canonicalPath(raw).ok, JSON.stringify(raw)).toBe(false);
    }
  });

  it("are idempotent and keep to one grammar (property)", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const once = canonicalPath(raw);
        if (!once.ok) return;
        expect(canonicalPath(once.path)).toEqual(once);
        expect(once.path).toMatch(/^(\/([A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})+)*\/?$/);
        expect(once.path).not.toMatch(/\/\/|(^|\/)\.\.?(\/|$)|%(4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE]|2[DE]|3[0-9])/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("reserved paths", () => {
  it("are reserved however spelled: every spelling is refused or still reserved (property)", () => {
    for (const reserved of ["/_impgate/messages/x", "/_state/k", "/_messages", "/_events", "/_auth/token", "/_whatever"]) {
      fc.assert(
        fc.property(spellingsOf(reserved), (spelling) => {
          const c = canonicalPath(spelling);
          expect(!c.ok || isReservedAgentPath(c.path), `${spelling} → ${c.ok ? c.path : "refused"}`).toBe(true);
        }),
        { numRuns: 300 },
      );
    }
  });

  it("keep the daemon's messages path closed in any spelling and any case (property)", () => {
    for (const [prefix, path] of [
      ["/_impgate/messages", "/_impgate/messages/open"],
      ["/hooks/impgate-messages", "/hooks/impgate-messages/open"],
      ["/hooks/impgate-messages", "/hooks/impgate-messages"],
    ] as const) {
      fc.assert(
        fc.property(spellingsOf(path), (spelling) => {
          const c = canonicalPath(spelling);
          expect(!c.ok || isUnderPath(c.path, prefix), `${spelling} → ${c.ok ? c.path : "refused"}`).toBe(true);
        }),
        { numRuns: 300 },
      );
    }
  });

  it("leave ordinary paths to the device", () => {
    for (const path of ["/", "/hello", "/impgate/messages", "/a/_state", "/a%2Fb", "/%E2%9C%93"])
      expect(isReservedAgentPath(path), path).toBe(false);
    expect(isUnderPath("/_impgate/messagesx", "/_impgate/messages")).toBe(false);
    expect(isUnderPath("/_IMPGATE/Messages/x", "/_impgate/messages")).toBe(true);
  });
});
