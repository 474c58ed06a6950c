/**
 * Profiles: where an edge is and how to reach it, kept in the user's config directory so
 * the CLI works from any folder. `$XDG_CONFIG_HOME/impgate/` (default `~/.config/impgate/`),
 * folders 0700 and files 0600, since a profile holds the admin secret:
 *
 *   config.json                      { "current": "local" }
 *   profiles/<name>/profile.json     { edgeUrl, adminSecret, caFiles, deviceTrust }
 *   profiles/<name>/*.pem            CA certificates, copied in (paths are relative to the profile)
 *
 * `impgate login` and `npm start` (as `local`) write them.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const ProfileFile = z.object({
  edgeUrl: z.url(),
  adminSecret: z.string().min(1),
  /** PEM files (relative to the profile) the CLI trusts for the edge; absent: the system store. */
  caFiles: z.array(z.string()).optional(),
  /** What provisioned devices pin: CA PEM files and SPKI pins. */
  deviceTrust: z.object({ caFiles: z.array(z.string()).min(1), pins: z.array(z.string()).default([]) }).optional(),
});
export type ProfileFile = z.infer<typeof ProfileFile>;

/** `$XDG_CONFIG_HOME/impgate` (the spec ignores a relative XDG_CONFIG_HOME), else `~/.config/impgate`. */
export function configDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".config"), "impgate");
}

export function profileDir(name: string): string {
  return join(configDir(), "profiles", name);
}

export function profileFile(name: string): string {
  return join(profileDir(name), "profile.json");
}

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) throw new CliError(`"${name}" is not a profile name (letters, digits, . _ -; up to 64)`, 2);
  return name;
}

async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Written whole or not at all (a temp file renamed over), mode 0600. */
async function writePrivate(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

export async function currentProfile(): Promise<string | undefined> {
  try {
    const { current } = JSON.parse(await readFile(join(configDir(), "config.json"), "utf8")) as { current?: unknown };
    return typeof current === "string" && PROFILE_NAME.test(current) ? current : undefined;
  } catch {
    return undefined;
  }
}

export async function setCurrentProfile(name: string): Promise<void> {
  await privateDir(configDir());
  await writePrivate(join(configDir(), "config.json"), `${JSON.stringify({ current: name }, null, 2)}\n`);
}

export async function listProfiles(): Promise<{ name: string; edgeUrl: string | null }[]> {
  let names: string[];
  try {
    names = (await readdir(join(configDir(), "profiles"))).filter((n) => PROFILE_NAME.test(n)).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (name) => {
      try {
        return { name, edgeUrl: ProfileFile.parse(JSON.parse(await readFile(profileFile(name), "utf8"))).edgeUrl };
      } catch {
        return { name, edgeUrl: null };
      }
    }),
  );
}

export interface NewProfile {
  edgeUrl: string;
  adminSecret: string;
  /** PEM text of the CA(s) that issued the edge's certificate; absent: the system store. */
  ca?: string[];
  /** What devices provisioned with this profile pin. */
  deviceTrust?: { ca: string[]; pins: string[] };
}

/**
 * Writes (or replaces) profile `name`, copying the CA certificates in so it works from any
 * folder. `current`: make it the profile used when none is named; "if-none" only when
 * no current profile is set (so `npm start` never takes over a deployed edge's profile).
 */
export async function saveProfile(name: string, profile: NewProfile, current: boolean | "if-none"): Promise<string> {
  checkProfileName(name);
  const dir = profileDir(name);
  await privateDir(configDir());
  await privateDir(join(configDir(), "profiles"));
  await rm(dir, { recursive: true, force: true });
  await privateDir(dir);
  const file: ProfileFile = { edgeUrl: profile.edgeUrl.replace(/\/$/, ""), adminSecret: profile.adminSecret };
  const pems = async (prefix: string, list: string[]) => {
    const names = list.map((_, i) => (list.length === 1 ? `${prefix}.pem` : `${prefix}-${i + 1}.pem`));
    await Promise.all(names.map((n, i) => writePrivate(join(dir, n), list[i] ?? "")));
    return names;
  };
  if (profile.ca?.length) file.caFiles = await pems("ca", profile.ca);
  if (profile.deviceTrust?.ca.length)
    file.deviceTrust = { caFiles: await pems("device-ca", profile.deviceTrust.ca), pins: profile.deviceTrust.pins };
  await writePrivate(profileFile(name), `${JSON.stringify(file, null, 2)}\n`);
  if (current === true || (current === "if-none" && (await currentProfile()) === undefined)) await setCurrentProfile(name);
  return profileFile(name);
}

export async function removeProfile(name: string): Promise<boolean> {
  checkProfileName(name);
  const existed = (await listProfiles()).some((p) => p.name === name);
  await rm(profileDir(name), { recursive: true, force: true });
  if ((await currentProfile()) === name) await rm(join(configDir(), "config.json"), { force: true });
  return existed;
}
