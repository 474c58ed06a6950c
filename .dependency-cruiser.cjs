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

/** Every top-level folder but `allowed`: what `from` must not import. */
const PARTS = ["worker", "durable-objects", "edge", "protocol", "caller", "device", "cli", "dev", "bench", "test", "agent", "bin"];
const outside = (...allowed) => `^(${PARTS.filter((p) => !allowed.includes(p)).join("|")})/`;

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
    {
      name: "protocol-imports-protocol-only",
      severity: "error",
      comment: "protocol/ is what crosses a wire, shared by edge, device, CLI and callers: it imports no part of impgate.",
      from: { path: "^protocol/" },
      to: { path: outside("protocol") },
    },
    {
      name: "edge-imports-protocol-only",
      severity: "error",
      comment: "edge/ is what worker/ and durable-objects/ share (env, keys, errors, tokens, rate guards): it imports only protocol/.",
      from: { path: "^edge/" },
      to: { path: outside("edge", "protocol") },
    },
    {
      name: "durable-objects-import-edge-and-protocol",
      severity: "error",
      comment: "An object never reaches up into the worker: what both need belongs in edge/.",
      from: { path: "^durable-objects/" },
      to: { path: outside("durable-objects", "edge", "protocol") },
    },
    {
      name: "worker-imports-edge-layers-only",
      severity: "error",
      comment: "The worker sits on top of the edge: durable-objects/, edge/, protocol/.",
      from: { path: "^worker/" },
      to: { path: outside("worker", "durable-objects", "edge", "protocol") },
    },
    {
      name: "caller-imports-protocol-only",
      severity: "error",
      comment: "caller/ runs in callers' programs and browsers: it knows the wire, never the edge.",
      from: { path: "^caller/" },
      to: { path: outside("caller", "protocol") },
    },
    {
      name: "device-imports-protocol-only",
      severity: "error",
      comment: "The daemon ships alone to devices: it knows the wire, never the edge's internals.",
      from: { path: "^device/" },
      to: { path: outside("device", "protocol") },
    },
    {
      name: "cli-imports-protocol-and-caller-only",
      severity: "error",
      comment: "The CLI talks to the edge over its API (protocol/admin-api.ts) and signs as a caller (caller/).",
      from: { path: "^cli/" },
      to: { path: outside("cli", "protocol", "caller") },
    },
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
