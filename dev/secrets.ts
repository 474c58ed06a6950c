/** The edge's secrets for local runs, in the `.dev.vars` format wrangler reads. */
import { webcrypto } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { exportJWK, generateKeyPair } from "jose";

export interface EdgeSecrets {
  ADMIN_SECRET: string;
  AGENT_ID_KEY: string;
  EDGE_SIGNING_JWK: string;
}

function randomB64url(bytes: number): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export async function makeEdgeSecrets(): Promise<EdgeSecrets> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return {
    ADMIN_SECRET: randomB64url(32),
    AGENT_ID_KEY: randomB64url(32),
    EDGE_SIGNING_JWK: JSON.stringify(await exportJWK(privateKey)),
  };
}

/** Single quotes: dotenv (which wrangler uses) keeps such values literally, JSON included. */
export function formatDevVars(vars: Record<string, string>): string {
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
