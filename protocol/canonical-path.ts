/**
 * The one canonical form of an agent-relative path (`/agent/<id>` + this), decided once
 * at the edge, sent to the device, and checked again by the daemon. RFC 3986 §6.2.2's
 * syntax-based normalisation, plus slash merging:
 *   - percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded (§2.3);
 *     everything else stays encoded (`%2F` included), hex in upper case (§6.2.2.1), and a
 *     character that may not appear raw in a path is encoded (as UTF-8)
 *   - repeated slashes are merged, then dot segments (`.`, `..`, `%2E%2E`…) are resolved
 * Refused, so nothing reaches the device: a `%` without two hex digits, a control
 * character (NUL, CR, LF…) raw or encoded, `..` above the root.
 *
 * Reserved paths are compared in a looser form still (`comparablePath`): fully decoded,
 * lower case, `\` as `/`, `;params` dropped, because local services differ in what they
 * decode, merge and fold, and a reserved path must stay reserved for all of them.
 *
 * Imports nothing runtime-specific: the worker and the daemon both use it.
 */

export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** What may stay raw in a canonical path: unreserved, sub-delims, ":", "@" and "/" (RFC 3986 pchar). */
const RAW_OK = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
const encoder = new TextEncoder();

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

function hex(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/**
 * Both forms are computed on every relayed request, mostly for the same few paths: each is
 * remembered per isolate, in a bounded cache (callers choose the paths, so it is emptied
 * when full). The results are frozen: whoever reads one cannot change it for the next.
 */
function remembered<T>(compute: (raw: string) => T): (raw: string) => T {
  const seen = new Map<string, T>();
  return (raw) => {
    let value = seen.get(raw);
    if (value === undefined) {
      if (seen.size >= 1024) seen.clear();
      value = Object.freeze(compute(raw));
      seen.set(raw, value);
    }
    return value;
  };
}

/** The canonical form of `raw` (the path after `/agent/<id>`, "" or starting with "/"), or why there is none. */
export const canonicalPath: (raw: string) => CanonicalPath = remembered(canonicalForm);

function canonicalForm(raw: string): CanonicalPath {
  if (raw === "") return { ok: true, path: "/" };
  if (!raw.startsWith("/")) return { ok: false, reason: "the path must start with /" };
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i);
    const code = raw.charCodeAt(i);
    if (ch === "%") {
      const digits = raw.slice(i + 1, i + 3);
      if (!HEX2.test(digits)) return { ok: false, reason: "malformed percent-encoding" };
      const byte = Number.parseInt(digits, 16);
      if (isControl(byte)) return { ok: false, reason: "control characters are not allowed in a path" };
      const decoded = String.fromCharCode(byte);
      out += UNRESERVED.test(decoded) ? decoded : hex(byte);
      i += 2;
    } else if (RAW_OK.test(ch)) {
      out += ch;
    } else if (isControl(code)) {
      return { ok: false, reason: "control characters are not allowed in a path" };
    } else {
      // Anything else raw (a space, non-ASCII, "\"…) is encoded as UTF-8; a lone surrogate cannot be.
      const cp = raw.codePointAt(i) ?? code;
      const char = String.fromCodePoint(cp);
      if (cp >= 0xd800 && cp <= 0xdfff) return { ok: false, reason: "the path is not valid Unicode" };
      for (const byte of encoder.encode(char)) out += hex(byte);
      i += char.length - 1;
    }
  }
  return resolveSegments(out);
}

/** Merges slashes and resolves dot segments; `..` above the root is refused. */
function resolveSegments(path: string): CanonicalPath {
  const parts = path.split("/").slice(1);
  const kept: string[] = [];
  let trailingSlash = false;
  for (const part of parts) {
    trailingSlash = part === "" || part === "." || part === "..";
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (kept.length === 0) return { ok: false, reason: "the path climbs above the root (..)" };
      kept.pop();
      continue;
    }
    kept.push(part);
  }
  if (kept.length === 0) return { ok: true, path: "/" };
  return { ok: true, path: `/${kept.join("/")}${trailingSlash ? "/" : ""}` };
}

/**
 * A path as the most liberal local service might read it, for comparing against reserved
 * paths only (never forwarded): percent-decoded until nothing changes (double encoding
 * included), `\` read as `/`, `;params` dropped from each segment, slashes merged, dot
 * segments resolved (clamped at the root), lower case.
 */
export const comparablePath: (path: string) => string = remembered(comparableForm);

function comparableForm(path: string): string {
  // Each pass that changes anything shortens the string, so this ends.
  let decoded = path;
  for (let next = decodeLoosely(decoded); next !== decoded; next = decodeLoosely(decoded)) decoded = next;
  const kept: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    const part = raw.split(";")[0] ?? "";
    if (part === "" || part === ".") continue;
    if (part === "..") kept.pop();
    else kept.push(part.toLowerCase());
  }
  return `/${kept.join("/")}`;
}

/** Decodes every well-formed `%XX` (as UTF-8, invalid sequences replaced), leaving anything else. */
function decodeLoosely(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(3 * i + 1, 3 * i + 3), 16);
    return new TextDecoder().decode(bytes);
  });
}

/**
 * Whether `path` (canonical) is `prefix` or below it, compared as `comparablePath` reads
 * both: case-insensitively, whatever the encoding. The daemon's check for its messages path.
 */
export function isUnderPath(path: string, prefix: string): boolean {
  const p = comparablePath(path);
  const q = comparablePath(prefix);
  return q === "/" || p === q || p.startsWith(`${q}/`);
}

/**
 * Whether `path` (canonical) belongs to impgate on an agent URL: its first segment begins
 * with `_` (`/_auth`, `/_messages`, `/_events`, `/_state`, and any other `/_…`), however
 * it was spelled. Such paths never reach the device or the imp's agent code.
 */
export function isReservedAgentPath(path: string): boolean {
  return comparablePath(path).startsWith("/_");
}
