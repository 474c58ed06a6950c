/**
 * What a caller credential (and a token minted from it) may do on an agent URL: its scope,
 * a list of entries, each either
 *   - a relay entry `METHOD /path/pattern`: requests the edge relays to the device.
 *     METHOD is one upper-case method (`POST`) or `*` (any); `GET` also allows `HEAD`
 *     (HEAD is GET without the body, RFC 9110 §9.3.2). Patterns: protocol/path-pattern.ts.
 *   - an agent API: `messages:write` (POST _messages), `messages:read` (GET _messages/…),
 *     `events:read` (_events), `state:read` (GET _state…), `state:write` (PUT/DELETE
 *     _state/…), `sealed` (_sealed: end-to-end sealed requests).
 * `sealed` is its own entry, not a relay one: the edge cannot read a sealed request's
 * method or path, so no relay pattern can bound it. Granting `sealed` lets a caller send
 * the device anything, as `* /**` does.
 *
 * Relay entries never reach paths under `/_` (impgate's own, however spelled): `* /**`
 * is the whole relay and nothing else. The method checked is the request's own:
 * `X-HTTP-Method-Override` and `_method` never widen a scope, and a relay request that
 * carries one is allowed only if the scope allows the overriding method too (a local
 * service may honour it).
 *
 * Imports nothing runtime-specific: the edge and the CLI share it.
 */
import { comparablePath } from "./canonical-path.ts";
import { ConstraintError } from "./constraint-error.ts";
import { matchesReadings, type PathPattern, type PathReadings, parsePathPattern, readPath } from "./path-pattern.ts";

export const AGENT_API_SCOPES = ["messages:write", "messages:read", "events:read", "state:read", "state:write", "sealed"] as const;
/** An agent API a scope can grant. */
export type ApiScope = (typeof AGENT_API_SCOPES)[number];

export type ScopeEntry =
  | { readonly kind: "api"; readonly api: ApiScope; readonly text: string }
  | { readonly kind: "relay"; readonly method: string; readonly path: PathPattern; readonly text: string };

/** A parsed scope: what `permits` reads. Store and send it as `formatScope(scope)`. */
export type Scope = readonly ScopeEntry[];

/** Everything: the scope of a credential made before scopes existed. */
export const UNRESTRICTED_SCOPE: readonly string[] = ["* /**", ...AGENT_API_SCOPES];

/** At most this many entries, each at most 1 KiB: a scope travels in every token. */
export const MAX_SCOPE_ENTRIES = 64;

const METHOD = /^(?:\*|[A-Z]{1,16})$/;

/**
 * Parses one entry as the CLI's `--scope` takes it; throws `ConstraintError`
 * (`ERR_SCOPE_SYNTAX`) with a readable reason.
 *
 * @example
 * ```ts
 * parseScopeEntry("POST /hooks/github"); // { kind: "relay", method: "POST", … }
 * parseScopeEntry("events:read");        // { kind: "api", api: "events:read", … }
 * parseScopeEntry("post /hooks");        // throws: methods are upper case
 * ```
 */
export function parseScopeEntry(text: string): ScopeEntry {
  const fail = (why: string): never => {
    throw new ConstraintError("ERR_SCOPE_SYNTAX", `scope ${JSON.stringify(text.slice(0, 100))}: ${why}`);
  };
  if ((AGENT_API_SCOPES as readonly string[]).includes(text)) return { kind: "api", api: text as ApiScope, text };
  if (text.length > 1040) fail("too long");
  const space = text.indexOf(" ");
  if (space < 0) fail(`expected "METHOD /path" (e.g. "POST /hooks/github") or one of ${AGENT_API_SCOPES.join(", ")}`);
  const method = text.slice(0, space);
  const pattern = text.slice(space + 1);
  if (!METHOD.test(method)) {
    fail(
      /^[A-Za-z]{1,16}$/.test(method)
        ? `methods are upper case (${method.toUpperCase()})`
        : `${JSON.stringify(method)} is not a method or *`,
    );
  }
  const path = parsePathPattern(pattern);
  if (typeof path === "string") return fail(path);
  if (comparablePath(pattern).startsWith("/_")) {
    fail("paths under /_ are impgate's own; grant them with messages:write, messages:read, events:read, state:read, state:write or sealed");
  }
  return { kind: "relay", method, path, text };
}

/**
 * Parses a list of entries (repeated `--scope`, a stored credential, a `scope` claim).
 * Duplicates are dropped; an empty list is refused (it would permit nothing).
 *
 * @example
 * ```ts
 * const scope = parseScope(["POST /hooks/github", "events:read"]);
 * ```
 */
export function parseScope(texts: readonly string[]): Scope {
  if (texts.length === 0) throw new ConstraintError("ERR_SCOPE_SYNTAX", "a scope needs at least one entry");
  if (texts.length > MAX_SCOPE_ENTRIES) throw new ConstraintError("ERR_SCOPE_SYNTAX", `a scope has at most ${MAX_SCOPE_ENTRIES} entries`);
  const seen = new Map<string, ScopeEntry>();
  for (const text of texts) seen.set(text, parseScopeEntry(text));
  return [...seen.values()];
}

/**
 * The entries as text: what is stored, listed and put in a token's `scope` claim.
 *
 * @example
 * ```ts
 * new SignJWT({ scope: formatScope(narrowed) }); // ["POST /hooks/github"]
 * ```
 */
export function formatScope(scope: Scope): string[] {
  return scope.map((entry) => entry.text);
}

/**
 * Reads a `scope` claim (an array of entry strings: relay entries hold a space, so the
 * claim is not OAuth's space-separated string). Throws `ConstraintError` on anything else.
 *
 * @example
 * ```ts
 * const asked = assertion.scope === undefined ? granted : scopeFromClaim(assertion.scope);
 * ```
 */
export function scopeFromClaim(claim: unknown): Scope {
  if (!Array.isArray(claim) || !claim.every((e): e is string => typeof e === "string")) {
    throw new ConstraintError("ERR_SCOPE_SYNTAX", "scope must be an array of strings");
  }
  return parseScope(claim);
}

/** What a request needs, decided from its own method and canonical path alone. */
export type Access =
  /** `_auth/…`: the challenge-response, open to all. */
  | { kind: "public" }
  | { kind: "api"; api: ApiScope }
  /** Relayed to the device. */
  | { kind: "relay" }
  /** Under `/_` but no API of impgate's: nothing permits it. */
  | { kind: "reserved" };

const SAFE = new Set(["GET", "HEAD"]);

/**
 * The access a request needs. Reserved paths are recognised as the reserved-path rule
 * recognises them (`comparablePath`: any encoding, any case), so `/%5FSTATE` needs
 * `state:read` like `/_state`; reads are GET and HEAD, anything else on `_messages` and
 * `_state` is a write (the route then answers 405 if it serves no such method).
 *
 * @example
 * ```ts
 * requiredAccess("PUT", "/_state/door"); // { kind: "api", api: "state:write" }
 * requiredAccess("POST", "/hooks/x");    // { kind: "relay" }
 * ```
 */
export function requiredAccess(method: string, canonicalPath: string): Access {
  const loose = comparablePath(canonicalPath);
  if (!loose.startsWith("/_")) return { kind: "relay" };
  const first = loose.slice(1).split("/", 1)[0];
  const read = SAFE.has(method);
  switch (first) {
    case "_auth":
      return { kind: "public" };
    case "_messages":
      return { kind: "api", api: read ? "messages:read" : "messages:write" };
    case "_events":
      return { kind: "api", api: "events:read" };
    case "_state":
      return { kind: "api", api: read ? "state:read" : "state:write" };
    case "_sealed":
      return { kind: "api", api: "sealed" };
    default:
      return { kind: "reserved" };
  }
}

export interface ScopedRequest {
  /** The request's own method, exactly as received. */
  method: string;
  /** The canonical agent path (after `/agent/<id>`), from `canonicalPath`. */
  canonicalPath: string;
  /** Methods the request asks a local service to use instead (`methodOverrides`), if any. */
  methodOverrides?: readonly string[];
}

function methodAllows(granted: string, method: string): boolean {
  return granted === "*" || granted === method || (granted === "GET" && method === "HEAD");
}

function relayAllows(scope: Scope, method: string, path: PathReadings): boolean {
  return scope.some((e) => e.kind === "relay" && methodAllows(e.method, method) && matchesReadings(e.path, path));
}

/**
 * Whether `scope` permits the request. Pure and cheap: one pass over the entries.
 *
 * @example
 * ```ts
 * const scope = parseScope(["POST /hooks/github", "events:read"]);
 * permits(scope, { method: "POST", canonicalPath: "/hooks/github" }); // true
 * permits(scope, { method: "GET", canonicalPath: "/_state" });         // false: needs state:read
 * permits(scope, { method: "POST", canonicalPath: "/hooks/github", methodOverrides: ["DELETE"] }); // false
 * ```
 */
export function permits(scope: Scope, request: ScopedRequest): boolean {
  const access = requiredAccess(request.method, request.canonicalPath);
  switch (access.kind) {
    case "public":
      return true;
    case "reserved":
      return false;
    case "api":
      // The edge serves its APIs itself and never honours an override there.
      return scope.some((e) => e.kind === "api" && e.api === access.api);
    case "relay": {
      const path = readPath(request.canonicalPath);
      return relayAllows(scope, request.method, path) && (request.methodOverrides ?? []).every((m) => relayAllows(scope, m, path));
    }
  }
}

/** Headers through which frameworks let a POST stand for another method. */
export const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"] as const;

/**
 * The methods a request asks a local service to use instead of its own: the override
 * headers, and `_method` in the query or in a form body (Rails, Laravel, Symfony,
 * express's method-override), upper-cased as those frameworks do. Pass the form fields
 * when the body is `application/x-www-form-urlencoded` or `multipart/form-data`.
 *
 * @example
 * ```ts
 * methodOverrides(request.headers, new URL(request.url).searchParams); // e.g. ["DELETE"]
 * ```
 */
export function methodOverrides(headers: Headers, query: URLSearchParams, form?: { getAll(name: string): unknown[] }): string[] {
  const found: string[] = [];
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = headers.get(name);
    if (value !== null) found.push(...value.split(","));
  }
  for (const [key, value] of query) if (key.toLowerCase() === "_method") found.push(value);
  for (const value of form?.getAll("_method") ?? []) found.push(typeof value === "string" ? value : "");
  // An override that is no method name is kept as it is: no scope allows it, so it is refused.
  return found.map((m) => m.trim().toUpperCase());
}
