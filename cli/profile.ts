/**
 * Which edge a command talks to, and what it trusts for TLS. Each setting comes from the
 * first of: a flag, the environment (IMPGATE_EDGE, IMPGATE_ADMIN_SECRET, IMPGATE_CA), the
 * profile. The profile is the one named by --profile (or IMPGATE_PROFILE), else a
 * project-local `.impgate/admin.json` in the current folder, else the current profile
 * (`impgate login` sets it; `impgate profile use` changes it).
 */
import { access, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { CliError } from "./errors.ts";
import { currentProfile, listProfiles, PROFILE_NAME, ProfileFile, profileFile } from "./profiles.ts";

export const PROJECT_PROFILE = ".impgate/admin.json";

/** What TLS trusts for the edge, and where that came from (TLS failures name it). */
export interface Trust {
  /** PEM CA certificates; undefined: the system's CA store. */
  ca?: string[];
  source: string;
}

export interface Profile {
  /** How the profile was chosen, for messages: `profile "local"`, `./.impgate/admin.json`, `the flags`. */
  label: string;
  edgeUrl: string;
  adminSecret: string;
  trust: Trust;
  /** What devices provisioned with this profile pin (read only by `imp create`). */
  deviceTrust(): Promise<{ ca: string[]; pins: string[] } | undefined>;
}

export interface ProfileFlags {
  profile?: string;
  edge?: string;
  adminSecret?: string;
  ca?: string;
}

interface Located {
  path: string;
  label: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** --profile takes a name (in the config directory) or a file (anything with a / or ending in .json). */
async function locate(named: string | undefined): Promise<Located | undefined> {
  if (named !== undefined) {
    if (named.includes("/") || named.endsWith(".json")) return { path: resolve(named), label: named };
    if (!PROFILE_NAME.test(named)) throw new CliError(`"${named}" is not a profile name or a profile file`, 2);
    if (!(await exists(profileFile(named)))) {
      const names = (await listProfiles()).map((p) => p.name);
      throw new CliError(
        `no profile "${named}"${names.length ? ` (there are: ${names.join(", ")})` : ""}; make it with: impgate login --profile ${named} --edge URL --admin-secret S [--ca ca.pem]`,
      );
    }
    return { path: profileFile(named), label: `profile "${named}"` };
  }
  if (await exists(PROJECT_PROFILE)) return { path: resolve(PROJECT_PROFILE), label: `./${PROJECT_PROFILE}` };
  const current = await currentProfile();
  if (current && (await exists(profileFile(current)))) return { path: profileFile(current), label: `profile "${current}"` };
  return undefined;
}

async function readProfileFile(at: Located): Promise<ProfileFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(at.path, "utf8"));
  } catch (err) {
    throw new CliError(`cannot read ${at.label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = ProfileFile.safeParse(json);
  if (!parsed.success) throw new CliError(`${at.label}: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

async function readPems(base: string, files: string[], what: string): Promise<string[]> {
  return Promise.all(
    files.map((f) =>
      readFile(resolve(base, f), "utf8").catch(() => {
        throw new CliError(`cannot read the CA file ${resolve(base, f)} (${what})`);
      }),
    ),
  );
}

/** --ca, else IMPGATE_CA, else the profile's CA, else the system store. */
async function trustFor(flags: ProfileFlags, at: Located | undefined, file: ProfileFile | undefined): Promise<Trust> {
  if (flags.ca) return { ca: await readPems(process.cwd(), [flags.ca], "--ca"), source: `--ca ${flags.ca}` };
  const env = process.env.IMPGATE_CA;
  if (env) return { ca: await readPems(process.cwd(), [env], "IMPGATE_CA"), source: `IMPGATE_CA (${env})` };
  if (at && file?.caFiles?.length) {
    const base = dirname(at.path);
    return {
      ca: await readPems(base, file.caFiles, at.label),
      source: `the CA of ${at.label} (${file.caFiles.map((f) => resolve(base, f)).join(", ")})`,
    };
  }
  return { source: "the system's CA store" };
}

export async function loadProfile(flags: ProfileFlags): Promise<Profile> {
  const at = await locate(flags.profile ?? (process.env.IMPGATE_PROFILE || undefined));
  const file = at ? await readProfileFile(at) : undefined;
  const edgeUrl = flags.edge ?? process.env.IMPGATE_EDGE ?? file?.edgeUrl;
  const adminSecret = flags.adminSecret ?? process.env.IMPGATE_ADMIN_SECRET ?? file?.adminSecret;
  if (!edgeUrl || !adminSecret) {
    throw new CliError(
      "no edge configured: run `impgate login --edge URL --admin-secret S [--ca ca.pem]` (or `npm start` for a local one), or set IMPGATE_EDGE and IMPGATE_ADMIN_SECRET",
    );
  }
  const device = file?.deviceTrust;
  const deviceTrust = async () =>
    at && device ? { ca: await readPems(dirname(at.path), device.caFiles, at.label), pins: device.pins } : undefined;
  const label = at && !flags.edge && !process.env.IMPGATE_EDGE ? at.label : "the given edge";
  return { label, edgeUrl: edgeUrl.replace(/\/$/, ""), adminSecret, trust: await trustFor(flags, at, file), deviceTrust };
}

/**
 * What a caller (`token`, `call`) trusts for an agent URL: --ca, IMPGATE_CA, the chosen
 * profile's CA (so commands printed by `npm start` work from any folder), else the system store.
 */
export async function loadCallerTrust(flags: { ca?: string; profile?: string }): Promise<Trust> {
  if (flags.ca || process.env.IMPGATE_CA) return trustFor(flags, undefined, undefined);
  const at = await locate(flags.profile ?? (process.env.IMPGATE_PROFILE || undefined));
  return trustFor(flags, at, at ? await readProfileFile(at) : undefined);
}
