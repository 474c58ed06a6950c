/** The edge's secrets for local runs, in the `.dev.vars` format wrangler reads. */
import { readFile, writeFile } from "node:fs/promises";

// Made as `impgate edge init` makes them for a deployed edge; re-exported for the
// development tools and tests that import them from here.
export { type EdgeSecrets, makeEdgeSecrets } from "../cli/edge-secrets.ts";

/** Single quotes: dotenv (which wrangler uses) keeps such values literally, JSON included. */
function formatDevVars(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([k, v]) => {
      if (v.includes("'") || v.includes("\n")) throw new Error(`${k}: value cannot hold quotes or newlines`);
      return `${k}='${v}'`;
    })
    .join("\n")}\n`;
}

/** Reads a .dev.vars file written by formatDevVars. */
export async function readDevVars(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const [, name, value] = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()) ?? [];
    if (name === undefined || value === undefined) continue;
    out[name] = /^'.*'$/.test(value) ? value.slice(1, -1) : value;
  }
  return out;
}

export async function writeDevVars(path: string, vars: Record<string, string>): Promise<void> {
  await writeFile(path, formatDevVars(vars), { mode: 0o600 });
}
