/**
 * The device's key statement for end-to-end sealing, as the imp's object keeps it: the last
 * one the device sent (`key` frame), served to callers at `GET $AGENT/_sealed/key`. The edge
 * checks it against the device key it holds before keeping it (a wrong one is the daemon's
 * fault, found here rather than by every caller), but callers never trust the edge for it:
 * they check it against the identity key they pinned, so a statement the edge made up or
 * swapped is refused by them (protocol/sealed/statement.ts).
 */
import type { JWK } from "jose";
import { fail, ok, type Result } from "../edge/errors.ts";
import type { SealedKeyInfo } from "../protocol/admin-api.ts";
import { isSealedError } from "../protocol/sealed/errors.ts";
import { fingerprint, verifyStatement } from "../protocol/sealed/statement.ts";
import type { ImpRecord } from "./imp-record.ts";

const KEY = "sealedKey";

interface Stored extends SealedKeyInfo {
  statement: string;
  /** The pin of the device key that signed it: a statement of a replaced device key is not served. */
  signer: string;
}

export class SealedKeyStore {
  private readonly storage: DurableObjectStorage;
  private cached: Stored | null | undefined;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  /** Keeps `statement` if the imp's device key signed it for this imp, it is current, and not older than the one kept. */
  async accept(imp: ImpRecord, statement: string, now = Date.now()): Promise<Result<SealedKeyInfo>> {
    if (!imp.devicePublicJwk) return fail("bad_request", "no device key");
    const pin = await fingerprint(imp.devicePublicJwk);
    const kept = await this.read();
    try {
      const verified = await verifyStatement(pin, statement, {
        impId: imp.impId,
        lastSequence: kept?.signer === pin ? kept.sequence : undefined,
        now,
      });
      const next: Stored = { statement, keyId: verified.keyId, sequence: verified.sequence, notAfter: verified.notAfter, signer: pin };
      await this.storage.put(KEY, next);
      this.cached = next;
      return ok(info(next));
    } catch (err) {
      if (!isSealedError(err)) throw err;
      return fail("bad_request", `key statement refused: ${err.code}`);
    }
  }

  /** The statement to serve, if the current device key signed it and it has not expired. */
  async current(imp: ImpRecord, now = Date.now()): Promise<string | null> {
    const kept = await this.usable(imp.devicePublicJwk, now);
    return kept?.statement ?? null;
  }

  /** What `imp show` says about it. */
  async info(imp: ImpRecord, now = Date.now()): Promise<SealedKeyInfo | null> {
    const kept = await this.usable(imp.devicePublicJwk, now);
    return kept ? info(kept) : null;
  }

  private async usable(deviceKey: JWK | null, now: number): Promise<Stored | null> {
    const kept = await this.read();
    if (!kept || !deviceKey || kept.notAfter <= now) return null;
    return kept.signer === (await fingerprint(deviceKey)) ? kept : null;
  }

  private async read(): Promise<Stored | null> {
    if (this.cached === undefined) this.cached = (await this.storage.get<Stored>(KEY)) ?? null;
    return this.cached;
  }
}

function info(s: Stored): SealedKeyInfo {
  return { keyId: s.keyId, sequence: s.sequence, notAfter: s.notAfter };
}
