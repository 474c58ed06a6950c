/**
 * The devices a caller has pinned for end-to-end sealing (`impgate e2e pin`), kept beside the
 * profiles in the user's config directory (cli/profiles.ts), so a pin holds from any folder:
 *
 *   pins.json    { "pins": [{ impId, pin, agentUrls, lastSequence, pinnedAt }] }   (0600)
 *
 * A pin is the device identity key's fingerprint (`sha256:` + its RFC 7638 thumbprint),
 * handed over out of band (`impgate imp create` prints it, the device's card holds it). The
 * highest key-statement sequence seen is kept with it, so a later run refuses an older
 * statement served again. `impId` may be learned from the first statement the pinned key signed.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";
import { configDir } from "./profiles.ts";

const Pin = z.object({
  impId: z.string().nullable(),
  pin: z.string(),
  agentUrls: z.array(z.string()),
  lastSequence: z.number().int().min(0).optional(),
  pinnedAt: z.number(),
});
export type Pin = z.infer<typeof Pin>;
const PinsFile = z.object({ pins: z.array(Pin) });

export function pinsFile(): string {
  return join(configDir(), "pins.json");
}

export async function readPins(): Promise<Pin[]> {
  let text: string;
  try {
    text = await readFile(pinsFile(), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CliError(`cannot read ${pinsFile()}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const parsed = PinsFile.safeParse(
    (() => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    })(),
  );
  if (!parsed.success) throw new CliError(`${pinsFile()} is damaged: restore it, or move it aside and pin the devices again`);
  return parsed.data.pins;
}

/** Written whole or not at all, 0600, in a 0700 folder. */
export async function writePins(pins: Pin[]): Promise<void> {
  await mkdir(configDir(), { recursive: true, mode: 0o700 });
  await chmod(configDir(), 0o700);
  const tmp = `${pinsFile()}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ pins }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, pinsFile());
}

/** The pin for an agent URL (or for its imp, once known). */
export function findPin(pins: Pin[], agentUrl: string, impId?: string): Pin | undefined {
  return pins.find((p) => p.agentUrls.includes(agentUrl)) ?? (impId ? pins.find((p) => p.impId === impId) : undefined);
}

/** Saves what a call learned: the imp id and the highest sequence seen. */
export async function rememberPin(agentUrl: string, update: { impId: string; lastSequence?: number }): Promise<void> {
  const pins = await readPins();
  const pin = findPin(pins, agentUrl, update.impId);
  if (!pin) return;
  pin.impId = update.impId;
  if (update.lastSequence !== undefined) pin.lastSequence = Math.max(pin.lastSequence ?? 0, update.lastSequence);
  if (!pin.agentUrls.includes(agentUrl)) pin.agentUrls.push(agentUrl);
  await writePins(pins);
}
