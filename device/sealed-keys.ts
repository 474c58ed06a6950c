/**
 * The device's encryption keys for sealed traffic, kept in `sealed-keys.json` (mode 0600)
 * in its state directory, apart from its identity key (`deviceKey` in the config), which
 * only signs key statements.
 *
 * Rotation: `rotate()` makes a new current key; the old one stays openable for an overlap
 * (KEY_OVERLAP_MS by default: a sealed message may wait that long in the edge's queue),
 * then its private half is deleted from the file, so traffic sealed to it can no longer be
 * opened here. After a suspected compromise, rotate with `{ overlapMs: 0 }`.
 *
 * Statements: `currentStatement()` signs one for the current key, valid STATEMENT_LIFETIME_MS,
 * and signs a new one (a higher sequence) when less than half of that is left. The sequence
 * is on disk and only rises, so callers can refuse an old statement served again.
 *
 * Two processes may change the file: the daemon (statements, retiring the previous key) and
 * `impgate-device e2e rotate`. Every change is made under a lock file (./file-lock.ts) on
 * the state as it is on disk then, and `refresh()` picks up a change another process made,
 * so neither undoes the other's.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { JWK } from "jose";
import { MESSAGE_WINDOW } from "../protocol/sealed/message.ts";
import { fingerprint, signStatement } from "../protocol/sealed/statement.ts";
import { generateEncryptionKey, importOpeningKey, type OpeningKey, SUITE } from "../protocol/sealed/suite.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { withFileLock } from "./file-lock.ts";
import { StateFileError } from "./processed-messages.ts";
import { load, type Stored, type StoredKey, stampOf } from "./sealed-keys-file.ts";

/** How long a retired key still opens what was sealed to it: as long as a message may wait in the edge's queue. */
export const KEY_OVERLAP_MS = MESSAGE_WINDOW.maxAgeMs;
/** How long a signed key statement is valid; a new one is signed when half of it is left. */
export const STATEMENT_LIFETIME_MS = 30 * 24 * 60 * 60_000;
export const KEYS_FILE = "sealed-keys.json";

/**
 * The device's sealed-traffic keys.
 *
 * @example
 * ```ts
 * const keys = await SealedKeys.open(join(config.stateDir, KEYS_FILE), { impId: config.impId, identityKey: config.deviceKey });
 * const statement = await keys.currentStatement();      // hand this to the edge, which serves it to callers
 * const opened = await openRequest(await keys.keyring(), bytes, { replay });
 * await keys.rotate();                                   // the old key keeps working for KEY_OVERLAP_MS
 * ```
 */
export class SealedKeys {
  readonly file: string;
  private stored: Stored;
  private readonly identityKey: JWK;
  private readonly identityPin: string;
  private readonly imported = new Map<number, Promise<OpeningKey>>();
  /** Saves and rotations run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The file as last read or written here (inode, time, size): another process changed it when this differs. */
  private stamp: string;

  private constructor(file: string, stored: Stored, identityKey: JWK, identityPin: string, stamp: string) {
    this.file = file;
    this.stored = stored;
    this.identityKey = identityKey;
    this.identityPin = identityPin;
    this.stamp = stamp;
  }

  /** The pin of the identity key that signs statements: what callers pin. */
  get pin(): string {
    return this.identityPin;
  }

  /**
   * Loads the key file, or makes a first key and writes it (0600) if there is none. Refuses
   * (StateFileError) a file that others can read, that is damaged, or that belongs to another imp.
   */
  static async open(file: string, options: { impId: string; identityKey: JWK; now?: number }): Promise<SealedKeys> {
    const pin = await fingerprint(options.identityKey);
    let found = await load(file, options.impId);
    if (!found) {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      // Under the lock, and only if no other process made it meanwhile.
      found = await withFileLock(file, async () => {
        const made = await load(file, options.impId);
        if (made) return made;
        const now = options.now ?? Date.now();
        const { keyId, privateJwk } = await generateEncryptionKey();
        const stored: Stored = {
          v: 1,
          impId: options.impId,
          sequence: 0,
          current: { keyId, privateJwk, created: now },
          previous: null,
          statement: null,
        };
        await writeFileAtomic(file, JSON.stringify(stored));
        return { stored, stamp: await stampOf(file) };
      });
    }
    return new SealedKeys(file, found.stored, options.identityKey, pin, found.stamp);
  }

  /**
   * Takes up what another process wrote to the file (`impgate-device e2e rotate`) since
   * this one last read or wrote it. True if it changed.
   */
  async refresh(): Promise<boolean> {
    if ((await stampOf(this.file)) === this.stamp) return false;
    const found = await load(this.file, this.stored.impId);
    if (!found) throw new StateFileError(`${this.file} disappeared: restore it (callers pinned to its keys cannot reach the device)`);
    this.stored = found.stored;
    this.stamp = found.stamp;
    this.imported.clear();
    return true;
  }

  /** The previous key's id and until when it still opens (epoch ms), if one is kept. */
  get previous(): { keyId: number; acceptUntil: number } | null {
    const p = this.stored.previous;
    return p ? { keyId: p.keyId, acceptUntil: p.acceptUntil } : null;
  }

  /** The current key's id. */
  get keyId(): number {
    return this.stored.current.keyId;
  }

  /** The last statement sequence signed. */
  get sequence(): number {
    return this.stored.sequence;
  }

  /**
   * The keys that may open sealed traffic now: the current one, and the previous one until
   * its overlap ends (after which it is deleted from the file).
   */
  async keyring(now = Date.now()): Promise<OpeningKey[]> {
    if (this.stored.previous && now > this.stored.previous.acceptUntil) {
      await this.exclusive(async () => {
        const previous = this.stored.previous;
        if (!previous || now <= previous.acceptUntil) return;
        await this.save({ ...this.stored, previous: null });
        this.imported.delete(previous.keyId);
      });
    }
    // One read of `stored`, so a rotation meanwhile cannot mix two generations.
    const { current, previous } = this.stored;
    const keys = [await this.importKey(current)];
    if (previous) keys.push(await this.importKey(previous, previous.acceptUntil));
    return keys;
  }

  /** A statement for the current key, signed by the identity key: reused until half its lifetime is left. */
  async currentStatement(now = Date.now()): Promise<string> {
    // Most calls find the statement fresh: no lock, no write.
    const cached = this.fresh(now);
    return cached ?? this.exclusive(() => this.statementFor(now));
  }

  private fresh(now: number): string | null {
    const cached = this.stored.statement;
    const usable = cached && cached.keyId === this.stored.current.keyId && cached.signer === this.identityPin;
    return usable && cached.notAfter - now > STATEMENT_LIFETIME_MS / 2 ? cached.jws : null;
  }

  /**
   * Makes a new current key; the old one stays openable for `overlapMs` (KEY_OVERLAP_MS
   * unless told; 0 retires it at once). A key retired earlier is dropped now. Returns the
   * new key's statement.
   */
  rotate(options: { overlapMs?: number; now?: number } = {}): Promise<string> {
    const now = options.now ?? Date.now();
    const overlap = options.overlapMs ?? KEY_OVERLAP_MS;
    return this.exclusive(async () => {
      const old = this.stored.current;
      const { keyId, privateJwk } = await generateEncryptionKey([old.keyId, this.stored.previous?.keyId ?? -1]);
      const dropped = this.stored.previous;
      await this.save({
        ...this.stored,
        current: { keyId, privateJwk, created: now },
        previous: overlap > 0 ? { ...old, acceptUntil: now + overlap } : null,
        statement: null,
      });
      // Cached imports carry their acceptUntil: the old current key's must be made again.
      this.imported.delete(old.keyId);
      if (dropped) this.imported.delete(dropped.keyId);
      return this.statementFor(now);
    });
  }

  /** Only inside `exclusive`: two statements never share a sequence. */
  private async statementFor(now: number): Promise<string> {
    const cached = this.fresh(now);
    if (cached) return cached;
    const sequence = this.stored.sequence + 1;
    const { keyId, privateJwk } = this.stored.current;
    const notAfter = now + STATEMENT_LIFETIME_MS;
    const jws = await signStatement(this.identityKey, {
      impId: this.stored.impId,
      keyId,
      encryptionKey: privateJwk.x,
      suite: SUITE,
      created: now,
      notAfter,
      sequence,
    });
    // On disk before it is handed out: a sequence once seen by a caller is never signed again.
    await this.save({ ...this.stored, sequence, statement: { jws, keyId, notAfter, signer: this.identityPin } });
    return jws;
  }

  private importKey(key: StoredKey, acceptUntil?: number): Promise<OpeningKey> {
    let imported = this.imported.get(key.keyId);
    if (!imported) {
      imported = importOpeningKey(key.keyId, key.privateJwk, acceptUntil);
      this.imported.set(key.keyId, imported);
    }
    return imported;
  }

  /**
   * Runs `task` after every earlier one here, holding the file's lock against other
   * processes, on the state as it is on disk now: changes to the file never interleave.
   */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() =>
      withFileLock(this.file, async () => {
        await this.refresh();
        return task();
      }),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  /** Writes `next` and only then makes it the state in memory. */
  private async save(next: Stored): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(next));
    this.stored = next;
    this.stamp = await stampOf(this.file);
  }
}
