/**
 * Where the admin API is and how to reach it: flags, then environment, then a profile
 * file (`npm start` writes `.impgate/admin.json` for the local edge).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";

export const DEFAULT_PROFILE = ".impgate/admin.json";

const ProfileFile = z.object({
  edgeUrl: z.url(),
  adminSecret: z.string().min(1),
  /** PEM files (relative to the profile) the CLI trusts for the edge; absent: the system store. */
  caFiles: z.array(z.string()).optional(),
  /** What provisioned devices pin: CA PEM files and SPKI pins. */
  deviceTrust: z.object({ caFiles: z.array(z.string()).min(1), pins: z.array(z.string()).default([]) }).optional(),
});

export interface Profile {
  edgeUrl: string;
  adminSecret: string;
  ca?: string[];
  deviceTrust?: { ca: string[]; pins: string[] };
}

export interface ProfileFlags {
  profile?: string;
  edge?: string;
  "admin-secret"?: string;
  ca?: string;
}

async function readPems(base: string, files: string[]): Promise<string[]> {
  return Promise.all(
    files.map((f) =>
      readFile(resolve(base, f), "utf8").catch(() => {
        throw new CliError(`cannot read CA file ${f}`);
      }),
    ),
  );
}

export async function loadProfile(flags: ProfileFlags): Promise<Profile> {
  const path = flags.profile ?? process.env.IMPGATE_PROFILE ?? DEFAULT_PROFILE;
  let file: z.infer<typeof ProfileFile> | undefined;
  try {
    const parsed = ProfileFile.safeParse(JSON.parse(await readFile(path, "utf8")));
    if (!parsed.success) throw new CliError(`${path}: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
    file = parsed.data;
  } catch (err) {
    if (err instanceof CliError) throw err;
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || flags.profile)
      throw new CliError(`cannot read profile ${path}: ${(err as Error).message}`);
  }
  const base = dirname(resolve(path));
  const edgeUrl = flags.edge ?? process.env.IMPGATE_EDGE ?? file?.edgeUrl;
  const adminSecret = flags["admin-secret"] ?? process.env.IMPGATE_ADMIN_SECRET ?? file?.adminSecret;
  if (!edgeUrl || !adminSecret) {
    throw new CliError(
      `no edge configured: pass --edge and --admin-secret, set IMPGATE_EDGE and IMPGATE_ADMIN_SECRET, or run \`npm start\` (writes ${DEFAULT_PROFILE})`,
    );
  }
  const caPath = flags.ca ?? process.env.IMPGATE_CA;
  const ca = caPath ? await readPems(process.cwd(), [caPath]) : file?.caFiles ? await readPems(base, file.caFiles) : undefined;
  const deviceTrust = file?.deviceTrust ? { ca: await readPems(base, file.deviceTrust.caFiles), pins: file.deviceTrust.pins } : undefined;
  return { edgeUrl: edgeUrl.replace(/\/$/, ""), adminSecret, ca, deviceTrust };
}

/**
 * What a caller trusts for an agent URL's TLS: --ca, IMPGATE_CA, the local profile's CA
 * (so commands work against `npm start` as printed), or else the system store.
 */
export async function loadCallerCa(flags: { ca?: string; profile?: string }): Promise<string[] | undefined> {
  const caPath = flags.ca ?? process.env.IMPGATE_CA;
  if (caPath) return readPems(process.cwd(), [caPath]);
  const path = flags.profile ?? process.env.IMPGATE_PROFILE ?? DEFAULT_PROFILE;
  try {
    const parsed = ProfileFile.safeParse(JSON.parse(await readFile(path, "utf8")));
    if (parsed.success && parsed.data.caFiles) return readPems(dirname(resolve(path)), parsed.data.caFiles);
  } catch {
    // no profile: the system store
  }
  return undefined;
}
