/**
 * Path patterns for relay scopes, matched against the canonical agent path
 * (protocol/canonical-path.ts). A pattern is an absolute path whose segments are
 *   - a literal, written in canonical form (`/hooks/github`, `/caf%C3%A9`), compared exactly
 *     (case-sensitively, so `/HOOKS/github` is not `/hooks/github`);
 *   - `*`: exactly one non-empty segment (`/hooks/*` matches `/hooks/a`, not `/hooks`,
 *     `/hooks/` or `/hooks/a/b`);
 *   - `**`, last only: zero or more segments (`/hooks/**` matches `/hooks`, `/hooks/`,
 *     `/hooks/a/b/`; `/**` matches every path).
 * A trailing slash is part of the path: `/a/` and `/a` are different patterns, as they are
 * different paths to most services.
 *
 * A path matches only if it matches twice: in its canonical form, and in the loosest
 * reading a local service might make of it (`comparablePath`: decoded repeatedly, `\` as
 * `/`, `;params` dropped, dots resolved, lower case) against the pattern read the same
 * way. So `/files/..%2Fadmin`, `/files/..;/admin` and `/files/%252E%252E/admin`, which are
 * literal segments under `/files/**` canonically, are refused: a service that decodes
 * them would serve `/admin`.
 */
import { canonicalPath, comparablePath } from "./canonical-path.ts";

/** One pattern segment: a literal, `*` (one segment) or `**` (the rest). */
export type PatternToken = { lit: string } | "*" | "**";

export interface PathPattern {
  /** The pattern as written (canonical). */
  readonly text: string;
  /** Tokens over canonical segments. */
  readonly exact: readonly PatternToken[];
  /** Tokens over the loose reading's segments (literals decoded, lower case). */
  readonly loose: readonly PatternToken[];
}

/** The segments of an absolute path: `/` → [], `/a/` → ["a", ""]. */
function segmentsOf(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

/**
 * Parses a pattern; the reason it is not one otherwise (a sentence for the CLI).
 *
 * @example
 * ```ts
 * parsePathPattern("/hooks/*");      // { text: "/hooks/*", exact: [...], loose: [...] }
 * parsePathPattern("/a/../b");       // "write the path in its canonical form: /b (not /a/../b)"
 * ```
 */
export function parsePathPattern(text: string): PathPattern | string {
  if (!text.startsWith("/")) return `a path pattern starts with / (got ${JSON.stringify(text)})`;
  if (text.length > 1024) return "a path pattern is at most 1024 characters";
  const canonical = canonicalPath(text);
  if (!canonical.ok) return `${JSON.stringify(text)} is not a usable path: ${canonical.reason}`;
  if (canonical.path !== text) return `write the path in its canonical form: ${canonical.path} (not ${text})`;
  const exact: PatternToken[] = [];
  const loose: PatternToken[] = [];
  const segments = segmentsOf(text);
  for (const [i, segment] of segments.entries()) {
    if (segment === "**") {
      if (i !== segments.length - 1) return "** stands for the rest of the path: it may only be the last segment";
      exact.push("**");
      loose.push("**");
    } else if (segment === "*") {
      exact.push("*");
      loose.push("*");
    } else if (segment.includes("*")) {
      return `* stands for a whole segment (write %2A for a literal *): ${JSON.stringify(segment)}`;
    } else {
      exact.push({ lit: segment });
      // The trailing "" of `/a/` has no loose reading: loose paths have no trailing slash.
      if (segment === "" && i === segments.length - 1) continue;
      // Read after a parent segment, so a segment that climbs (`..%2Fx`, `..;`) shows as one.
      const reading = segmentsOf(comparablePath(`/x/${segment}`));
      if (reading.length !== 2 || reading[0] !== "x" || reading[1] === "") {
        return `the segment ${JSON.stringify(segment)} reads as another path to a service that decodes it; it cannot be scoped`;
      }
      loose.push({ lit: reading[1] ?? "" });
    }
  }
  return { text, exact, loose };
}

/** Whether `tokens` match the segments `segs` exactly. */
function matchTokens(tokens: readonly PatternToken[], segs: readonly string[]): boolean {
  for (const [i, token] of tokens.entries()) {
    if (token === "**") return true;
    const seg = segs[i];
    if (seg === undefined) return false;
    if (token === "*" ? seg === "" : seg !== token.lit) return false;
  }
  return tokens.length === segs.length;
}

/**
 * Whether `pattern` matches the canonical path `path` (see the module comment: both in its
 * canonical form and in its loosest reading).
 *
 * @example
 * ```ts
 * const files = parsePathPattern("/files/**") as PathPattern;
 * matchesPath(files, "/files/a/b");        // true
 * matchesPath(files, "/files/..;/admin");  // false: Tomcat and friends read /admin
 * ```
 */
export function matchesPath(pattern: PathPattern, path: string): boolean {
  return matchesReadings(pattern, readPath(path));
}

/** A canonical path's segments in both readings, worked out once for all the patterns of a scope. */
export interface PathReadings {
  exact: readonly string[];
  loose: readonly string[];
}

/** The readings of a canonical path, for `matchesReadings`. */
export function readPath(path: string): PathReadings {
  return { exact: segmentsOf(path), loose: segmentsOf(comparablePath(path)) };
}

/** `matchesPath` over readings already worked out. */
export function matchesReadings(pattern: PathPattern, readings: PathReadings): boolean {
  return matchTokens(pattern.exact, readings.exact) && matchTokens(pattern.loose, readings.loose);
}

/** Whether every segment list `inner` matches is also matched by `outer` (both token lists). */
function tokensCover(outer: readonly PatternToken[], inner: readonly PatternToken[]): boolean {
  for (const [i, o] of outer.entries()) {
    if (o === "**") return true;
    const n = inner[i];
    if (n === undefined || n === "**") return false;
    if (o === "*") {
      if (n !== "*" && n.lit === "") return false;
    } else if (n === "*" || n.lit !== o.lit) {
      return false;
    }
  }
  return outer.length === inner.length;
}

/**
 * Whether every path `inner` matches, `outer` matches too. Sound (never true when some
 * path matches `inner` and not `outer`); checked in both readings.
 *
 * @example
 * ```ts
 * patternCovers(parsePathPattern("/hooks/**") as PathPattern, parsePathPattern("/hooks/*") as PathPattern); // true
 * ```
 */
export function patternCovers(outer: PathPattern, inner: PathPattern): boolean {
  return tokensCover(outer.exact, inner.exact) && tokensCover(outer.loose, inner.loose);
}

/**
 * A pattern matching only paths both `a` and `b` match, or null when there is none this
 * grammar can write. Never matches a path that `a` or `b` refuses.
 *
 * @example
 * ```ts
 * intersectPatterns(parsePathPattern("/*") as PathPattern, parsePathPattern("/hooks/**") as PathPattern)?.text; // "/hooks"
 * ```
 */
export function intersectPatterns(a: PathPattern, b: PathPattern): PathPattern | null {
  const tokens: PatternToken[] = [];
  for (let i = 0; ; i++) {
    const x = a.exact[i];
    const y = b.exact[i];
    if (x === "**") {
      tokens.push(...b.exact.slice(i));
      break;
    }
    if (y === "**") {
      tokens.push(...a.exact.slice(i));
      break;
    }
    if (x === undefined || y === undefined) {
      if (x !== y) return null;
      break;
    }
    if (x === "*") {
      if (y !== "*" && y.lit === "") return null;
      tokens.push(y);
    } else if (y === "*") {
      if (x.lit === "") return null;
      tokens.push(x);
    } else if (x.lit === y.lit) {
      tokens.push(x);
    } else {
      return null;
    }
  }
  const text = `/${tokens.map((t) => (typeof t === "string" ? t : t.lit)).join("/")}`;
  const parsed = parsePathPattern(text);
  // Each literal reads as one loose segment, so this holds by construction; checked anyway,
  // so that an intersection is dropped rather than ever made wider.
  if (typeof parsed === "string" || !patternCovers(a, parsed) || !patternCovers(b, parsed)) return null;
  return parsed;
}
