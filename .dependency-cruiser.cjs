/**
 * Which part of impgate may import which (docs/ARCHITECTURE.md, "Layers"), checked by
 * `npm run lint` (so by `npm test`): `npx depcruise --config .dependency-cruiser.cjs .`.
 *
 *   worker/ ──▶ durable-objects/ ──▶ edge/ ──▶ protocol/
 *   caller/ ──▶ protocol/        device/ ──▶ protocol/        cli/ ──▶ caller/, protocol/
 *
 * Type-only imports count too: a type is as much a dependency for the next reader.
 * `npx depcruise --config .dependency-cruiser.cjs --output-type mermaid worker` draws it.
 */

/** Every top-level folder of impgate's. */
const PARTS = ["worker", "durable-objects", "edge", "protocol", "caller", "device", "cli", "dev", "bench", "test", "agent", "bin"];

/** A rule: code in `part` imports nothing of impgate's but `part` itself and `allowed`. */
function layer(part, allowed, comment) {
  const others = PARTS.filter((p) => p !== part && !allowed.includes(p));
  return {
    name: `${part}-imports-${allowed.join("-") || "itself"}-only`,
    severity: "error",
    comment,
    from: { path: `^${part}/` },
    to: { path: `^(${others.join("|")})/` },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle has no bottom layer: split the module both sides need, or move it down.",
      from: {},
      to: { circular: true },
    },
    layer("protocol", [], "protocol/ is what crosses a wire, shared by edge, device, CLI and callers: it imports no other part."),
    layer("edge", ["protocol"], "edge/ is what worker/ and durable-objects/ share (env, keys, errors, tokens, rate guards)."),
    layer("durable-objects", ["edge", "protocol"], "An object never reaches up into the worker: what both need belongs in edge/."),
    layer("worker", ["durable-objects", "edge", "protocol"], "The worker sits on top of the edge."),
    layer("caller", ["protocol"], "caller/ runs in callers' programs and browsers: it knows the wire, never the edge."),
    layer("device", ["protocol"], "The daemon ships alone to devices: it knows the wire, never the edge's internals."),
    layer("cli", ["protocol", "caller"], "The CLI talks to the edge over its API (protocol/admin-api.ts) and signs as a caller (caller/)."),
    {
      name: "nothing-imports-tests-or-bench",
      severity: "error",
      comment: "Tests and benchmarks use the code; the code never uses them.",
      from: { pathNot: "^(test|bench)/|^vitest\\.config\\.ts$" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    // TypeScript 7 has no JavaScript API yet (dependency-cruiser's tsc parser needs one);
    // swc parses the same TypeScript, type-only imports included.
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|\\.wrangler|\\.impgate)/" },
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs"] },
  },
};
