/** `impgate agent …`: what runs. */
import { constants } from "node:fs";
import { copyFile, mkdir, readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { AgentInfo, AgentVersion, LogEntry, LogPage } from "../../protocol/admin-api.ts";
import { AdminClient } from "../admin-client.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";
import { PROJECT_ROOT } from "../root.ts";

const TEMPLATES = join(PROJECT_ROOT, "agent");
const FOLLOW_INTERVAL_MS = 1000;

async function client(id: string, command: string, flags: AdminFlags) {
  const imp = encodeURIComponent(impId(id, command));
  return { imp, client: await AdminClient.from(flags) };
}

export async function init(dir: string, flags: { ts?: boolean; example?: string; force?: boolean; json?: boolean }): Promise<void> {
  const agentFile = flags.ts ? "agent.ts" : "agent.js";
  let source = join(TEMPLATES, agentFile);
  if (flags.example !== undefined) {
    const known = (await readdir(join(TEMPLATES, "examples"))).filter((f) => f.endsWith(".js")).map((f) => f.slice(0, -3));
    if (!known.includes(flags.example)) throw new CliError(`no example "${flags.example}" (there are: ${known.join(", ")})`, 2);
    if (flags.ts) throw new CliError("the examples are JavaScript: pass --example or --ts, not both", 2);
    source = join(TEMPLATES, "examples", `${flags.example}.js`);
  }
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [from, name] of [
    [source, agentFile],
    [join(TEMPLATES, "impgate-agent.d.ts"), "impgate-agent.d.ts"],
  ] as const) {
    const path = join(dir, name);
    try {
      await copyFile(from, path, flags.force ? 0 : constants.COPYFILE_EXCL);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === "EEXIST" ? `${path} exists (pass --force to overwrite)` : `cannot write ${path}: ${code ?? (err as Error).message}`,
      );
    }
    written.push(path);
  }
  output(flags.json).result({ files: written }, [
    `wrote ${written.join(" and ")}`,
    `deploy it: impgate agent deploy <imp> ${join(dir, agentFile)}`,
  ]);
}

/** The module to upload: JavaScript as it is, TypeScript with its types stripped (erasable syntax only). */
async function moduleSource(file: string): Promise<string> {
  let source: string;
  try {
    source = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!/\.m?ts$/.test(file)) return source;
  try {
    // Node >= 22.13 strips types in place (line numbers stay); an older Node has esbuild do it.
    const { stripTypeScriptTypes } = (await import("node:module")) as { stripTypeScriptTypes?: (s: string, o: object) => string };
    if (stripTypeScriptTypes) return stripTypeScriptTypes(source, { mode: "strip" });
    const { transform } = await import("esbuild");
    return (await transform(source, { loader: "ts", format: "esm", sourcefile: file })).code;
  } catch (err) {
    // esbuild keeps the detail in `errors`; Node's message has it on its first line.
    const first = (err as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0];
    const detail = first
      ? `${first.location ? `${first.location.line}:${first.location.column}: ` : ""}${first.text}`
      : (err as Error).message.split("\n")[0];
    throw new CliError(`${file}: ${detail} (agent TypeScript may use erasable syntax only)`);
  }
}

export async function deploy(id: string, file: string, flags: AdminFlags & { note?: string }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent deploy", flags);
  const code = await moduleSource(file);
  let version: AgentVersion;
  try {
    version = await admin.call<AgentVersion>("POST", `/imps/${imp}/agent`, { code, note: flags.note });
  } catch (err) {
    // The runtime's own message is the useful part; it calls the module agent.js, which the user may have named otherwise.
    if (err instanceof CliError && /\(400\)|\(413\)/.test(err.message))
      throw new CliError(
        `${file} was not deployed: ${err.message
          .replace(/^edge refused \(\d+\): /, "")
          .replace(/\bagent\.js\b/g, file)
          .replace(/\s*\n\s*/g, " ")}`,
      );
    throw err;
  }
  output(flags.json).result(version, [
    `deployed version ${version.version} of ${basename(file)} (${version.handlers.join(", ")}; ${version.size} bytes)`,
    "the imp's agent URL runs it from now on; `impgate agent logs` shows what it writes",
  ]);
}

export async function show(id: string, flags: AdminFlags & { code?: boolean; version?: number }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent show", flags);
  const info = await admin.call<AgentInfo>("GET", `/imps/${imp}/agent`);
  const out = output(flags.json);
  if (flags.code) {
    const version = flags.version ?? info.active;
    if (version === null) throw new CliError("the imp has no active agent code; pass --version N for a stored one");
    const source = await admin.call<AgentVersion & { code: string }>("GET", `/imps/${imp}/agent/versions/${version}`);
    out.result(source, [source.code.replace(/\n$/, "")]);
    return;
  }
  if (flags.version !== undefined) throw new CliError("--version goes with --code", 2);
  const lines = [
    info.active === null ? "agent: none (tunnel mode: requests go to the device)" : `agent: version ${info.active}`,
    `outbound: ${info.outbound.length ? `${info.outbound.join(", ")} (HTTPS)` : "no network"}`,
    `limits: ${info.limits.cpuMs} ms CPU and ${info.limits.subRequests} subrequests per call; ${info.limits.codeBytes / 1024} KiB of code; newest ${info.limits.versionsKept} versions kept`,
  ];
  if (info.versions.length) lines.push("versions:");
  for (const v of info.versions) {
    lines.push(
      `  ${v.active ? "*" : " "} ${String(v.version).padStart(3)}  ${new Date(v.deployedAt).toISOString()}  ${v.sha256.slice(0, 12)}  ${String(v.size).padStart(6)} B  ${v.handlers.join(",")}${v.note ? `  ${v.note}` : ""}`,
    );
  }
  out.result(info, lines);
}

export async function rollback(id: string, flags: AdminFlags & { to?: number }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent rollback", flags);
  const version = await admin.call<AgentVersion>(
    "POST",
    `/imps/${imp}/agent/rollback`,
    flags.to === undefined ? {} : { version: flags.to },
  );
  output(flags.json).result(version, [
    `version ${version.version} is active again (deployed ${new Date(version.deployedAt).toISOString()})`,
  ]);
}

export async function remove(id: string, flags: AdminFlags & { purge?: boolean }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent remove", flags);
  const result = await admin.call<{ active: null; purged: boolean }>("DELETE", `/imps/${imp}/agent${flags.purge ? "?purge=true" : ""}`);
  output(flags.json).result(result, [
    "agent code removed: requests to the agent URL go to the device again (tunnel mode)",
    flags.purge ? "every stored version was deleted" : `stored versions are kept: \`impgate agent rollback ${id} --to N\` restores one`,
  ]);
}

export async function logs(id: string, flags: AdminFlags & { limit: number; follow?: boolean }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent logs", flags);
  let page = await admin.call<LogPage>("GET", `/imps/${imp}/agent/logs?limit=${flags.limit}`);
  output(flags.json).result(page, page.entries.length === 0 && !flags.follow ? ["no log lines"] : page.entries.map(logLine));
  // --follow: poll for lines after the cursor until interrupted (one JSON object per line with --json).
  while (flags.follow) {
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
    page = await admin.call<LogPage>("GET", `/imps/${imp}/agent/logs?after=${page.cursor}&limit=1000`);
    for (const e of page.entries) process.stdout.write(`${flags.json ? JSON.stringify(e) : logLine(e)}\n`);
  }
}

function logLine(e: LogEntry): string {
  const who = e.source === "edge" ? "impgate" : `v${e.version}`;
  return `${new Date(e.at).toISOString()}  ${who.padEnd(7)} ${e.level.padEnd(5)}  ${e.message}`;
}

export async function outbound(id: string, hosts: string[], flags: AdminFlags & { none?: boolean }): Promise<void> {
  const { imp, client: admin } = await client(id, "impgate agent outbound", flags);
  const out = output(flags.json);
  if (hosts.length === 0 && !flags.none) {
    const info = await admin.call<AgentInfo>("GET", `/imps/${imp}/agent`);
    out.result({ outbound: info.outbound }, [
      info.outbound.length ? `outbound: ${info.outbound.join(", ")} (HTTPS)` : "outbound: no network",
    ]);
    return;
  }
  if (hosts.length && flags.none) throw new CliError("pass hosts or --none, not both", 2);
  const result = await admin.call<{ outbound: string[] }>("PUT", `/imps/${imp}/agent/outbound`, { hosts });
  out.result(result, [
    result.outbound.length ? `agent code may now reach: ${result.outbound.join(", ")} (HTTPS only)` : "agent code has no network now",
  ]);
}
