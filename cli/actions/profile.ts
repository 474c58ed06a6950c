/** `impgate login` and `impgate profile …`: what runs. */
import { readFile } from "node:fs/promises";
import type { EdgeKeys } from "../../protocol/admin-api.ts";
import { AdminClient } from "../admin-client.ts";
import { CliError } from "../errors.ts";
import { output } from "../output.ts";
import { PROJECT_PROFILE } from "../profile.ts";
import { checkProfileName, currentProfile, listProfiles, profileDir, removeProfile, saveProfile, setCurrentProfile } from "../profiles.ts";
import { exists } from "../secret-files.ts";

interface LoginFlags {
  edge: string;
  adminSecret?: string;
  ca?: string;
  deviceCa?: string[];
  pin?: string[];
  profile: string;
  json?: boolean;
}

async function readPem(path: string, option: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (err) {
    throw new CliError(`${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!pem.includes("BEGIN CERTIFICATE")) throw new CliError(`${option} ${path}: not a PEM certificate`);
  return pem;
}

export async function login(flags: LoginFlags): Promise<void> {
  const name = checkProfileName(flags.profile);
  const adminSecret = flags.adminSecret ?? process.env.IMPGATE_ADMIN_SECRET;
  if (!adminSecret) throw new CliError("pass --admin-secret (or set IMPGATE_ADMIN_SECRET)", 2);
  let edgeUrl: string;
  try {
    edgeUrl = new URL(flags.edge).origin;
  } catch {
    throw new CliError(`--edge takes the edge's URL (https://…), not ${flags.edge}`, 2);
  }
  const ca = flags.ca ? [await readPem(flags.ca, "--ca")] : undefined;
  const deviceCa = flags.deviceCa ? await Promise.all(flags.deviceCa.map((f) => readPem(f, "--device-ca"))) : ca;
  // Checked before anything is saved: a wrong secret or CA fails here, not at the next command.
  const client = new AdminClient({
    label: "the given edge",
    edgeUrl,
    adminSecret,
    trust: ca ? { ca, source: `--ca ${flags.ca}` } : { source: "the system's CA store" },
    deviceTrust: async () => undefined,
  });
  await client.call<EdgeKeys>("GET", "/edge-key");
  const path = await saveProfile(
    name,
    { edgeUrl, adminSecret, ca, deviceTrust: deviceCa ? { ca: deviceCa, pins: flags.pin ?? [] } : undefined },
    true,
  );
  output(flags.json).result({ profile: name, edgeUrl, file: path }, [
    `logged in to ${edgeUrl} as profile "${name}" (saved in ${profileDir(name)}, now the current profile)`,
    ...(deviceCa ? [] : ["devices need a CA to pin: pass --device-ca to `impgate imp create`, or log in again with --device-ca"]),
  ]);
}

export async function list(flags: { json?: boolean }): Promise<void> {
  const profiles = await listProfiles();
  const current = await currentProfile();
  const overridden = (await exists(PROJECT_PROFILE)) ? PROJECT_PROFILE : undefined;
  const env = process.env.IMPGATE_PROFILE || undefined;
  const lines = profiles.length
    ? profiles.map((p) => `${p.name === current ? "*" : " "} ${p.name.padEnd(12)} ${p.edgeUrl ?? "(unreadable)"}  ${profileDir(p.name)}`)
    : ["no profiles: make one with `impgate login --edge URL --admin-secret S`, or run `npm start` (profile local)"];
  if (env) lines.push(`IMPGATE_PROFILE=${env} chooses the profile here`);
  else if (overridden) lines.push(`in this folder ./${PROJECT_PROFILE} is used instead of the current profile`);
  output(flags.json).result({ current: current ?? null, profiles, projectProfile: overridden ?? null }, lines);
}

export async function use(name: string): Promise<void> {
  checkProfileName(name);
  if (!(await listProfiles()).some((p) => p.name === name)) throw new CliError(`no profile "${name}"; \`impgate profile list\` shows them`);
  await setCurrentProfile(name);
  process.stdout.write(`the current profile is now "${name}"\n`);
}

export async function remove(name: string): Promise<void> {
  if (!(await removeProfile(name))) throw new CliError(`no profile "${name}"; \`impgate profile list\` shows them`);
  process.stdout.write(`removed profile "${name}"\n`);
}
