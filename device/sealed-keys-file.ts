/**
 * The sealed-keys file on disk (sealed-keys.ts keeps it): its shape, reading and checking
 * it (mode 0600, intact, this imp's), and the stamp that tells when another process
 * rewrote it. Apart from sealed-keys.ts, which rotates the keys and signs statements.
 */
import { readFile, stat } from "node:fs/promises";
import type { X25519PrivateJwk } from "../protocol/sealed/suite.ts";
import { StateFileError } from "./processed-messages.ts";

export interface StoredKey {
  keyId: number;
  privateJwk: X25519PrivateJwk;
  created: number;
}

export interface Stored {
  v: 1;
  impId: string;
  /** The last statement sequence signed: the next is higher. */
  sequence: number;
  current: StoredKey;
  previous: (StoredKey & { acceptUntil: number }) | null;
  /** The last statement, and the pin of the identity key that signed it (the config's key may be replaced). */
  statement: { jws: string; keyId: number; notAfter: number; signer: string } | null;
}

/** What changes when the file is replaced or rewritten ("" when it is missing). */
export async function stampOf(file: string): Promise<string> {
  const info = await stat(file).catch(() => null);
  return info ? `${info.ino}:${info.mtimeMs}:${info.size}` : "";
}

/** The file's keys, or null when there is none; a file others can read, a damaged one or another imp's is refused. */
export async function load(file: string, impId: string): Promise<{ stored: Stored; stamp: string } | null> {
  let text: string;
  let stamp: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) throw new StateFileError(`${file} is readable by others: chmod 600 it`);
    text = await readFile(file, "utf8");
    stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
  } catch (err) {
    if (err instanceof StateFileError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StateFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const stored = parse(text);
  if (!stored)
    throw new StateFileError(
      `${file} is damaged: restore it, or move it aside to make new keys (callers must then fetch the new statement)`,
    );
  if (stored.impId !== impId) throw new StateFileError(`${file} holds keys for ${stored.impId}, not ${impId}`);
  return { stored, stamp };
}

function parse(text: string): Stored | null {
  try {
    const v = JSON.parse(text) as Stored;
    const key = (k: StoredKey | null | undefined) =>
      !!k &&
      Number.isInteger(k.keyId) &&
      k.keyId >= 0 &&
      k.keyId <= 0xffffffff &&
      typeof k.created === "number" &&
      k.privateJwk?.kty === "OKP" &&
      k.privateJwk.crv === "X25519" &&
      typeof k.privateJwk.x === "string" &&
      typeof k.privateJwk.d === "string";
    if (v.v !== 1 || typeof v.impId !== "string" || !Number.isSafeInteger(v.sequence) || !key(v.current)) return null;
    if (v.previous !== null && !(key(v.previous) && typeof v.previous.acceptUntil === "number")) return null;
    const st = v.statement;
    if (st !== null && (typeof st?.jws !== "string" || typeof st.notAfter !== "number" || typeof st.signer !== "string")) return null;
    return v;
  } catch {
    return null;
  }
}
