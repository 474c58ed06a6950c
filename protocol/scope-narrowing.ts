/**
 * Scopes within scopes: a token may carry less than its credential grants (the `scope` a
 * caller asks for in its assertion), never more. `narrowScope` checks "requested ⊆
 * granted" entry by entry; `intersectScopes` computes what two scopes both permit. Both
 * err towards less: an entry is kept only where containment is proved.
 */
import { ConstraintError } from "./constraint-error.ts";
import { intersectPatterns, patternCovers } from "./path-pattern.ts";
import type { Scope, ScopeEntry } from "./scope.ts";

function entryCovers(outer: ScopeEntry, inner: ScopeEntry): boolean {
  if (outer.kind === "api" || inner.kind === "api") return outer.kind === "api" && inner.kind === "api" && outer.api === inner.api;
  const methodOk = outer.method === "*" || outer.method === inner.method || (outer.method === "GET" && inner.method === "HEAD");
  return methodOk && patternCovers(outer.path, inner.path);
}

/**
 * The scope a token asked for (`requested`), if it lies within `granted`; otherwise throws
 * `ConstraintError` (`ERR_SCOPE_TOO_WIDE`, OAuth's `invalid_scope`) naming what is wider.
 * Each requested entry must lie within one granted entry.
 *
 * @example
 * ```ts
 * const granted = parseScope(["* /hooks/**", "events:read"]);
 * narrowScope(granted, parseScope(["POST /hooks/github"])); // ok: the token may only POST there
 * narrowScope(granted, parseScope(["state:read"]));         // throws ERR_SCOPE_TOO_WIDE
 * ```
 */
export function narrowScope(granted: Scope, requested: Scope): Scope {
  const wider = requested.filter((r) => !granted.some((g) => entryCovers(g, r)));
  if (wider.length > 0) {
    throw new ConstraintError("ERR_SCOPE_TOO_WIDE", `not within the credential's scope: ${wider.map((e) => e.text).join(", ")}`);
  }
  return requested;
}

/**
 * A scope permitting only what both `a` and `b` permit (possibly less, where the grammar
 * cannot say exactly "both"; never more). Empty when they share nothing.
 *
 * @example
 * ```ts
 * intersectScopes(parseScope(["* /hooks/*"]), parseScope(["POST /**"])); // ["POST /hooks/*"]
 * ```
 */
export function intersectScopes(a: Scope, b: Scope): Scope {
  const out = new Map<string, ScopeEntry>();
  for (const x of a) {
    for (const y of b) {
      if (x.kind === "api" || y.kind === "api") {
        if (x.kind === "api" && y.kind === "api" && x.api === y.api) out.set(x.text, x);
        continue;
      }
      const method = x.method === "*" ? y.method : y.method === "*" || y.method === x.method ? x.method : meetGetHead(x.method, y.method);
      const path = method ? intersectPatterns(x.path, y.path) : null;
      if (method && path) {
        const text = `${method} ${path.text}`;
        out.set(text, { kind: "relay", method, path, text });
      }
    }
  }
  return [...out.values()];
}

function meetGetHead(m: string, n: string): string | null {
  return (m === "GET" && n === "HEAD") || (m === "HEAD" && n === "GET") ? "HEAD" : null;
}
