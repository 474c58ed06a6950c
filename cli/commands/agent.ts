/** `impgate agent …`: an imp's agent code — write, deploy, inspect, roll back, remove, read its log. */
import { constants } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import { basename, join } from "node:path";
import type { ParseArgsOptionsConfig } from "node:util";
import type { AgentInfo, AgentVersion, LogEntry } from "../../durable-objects/agent-types.ts";
import { AdminClient } from "../admin-client.ts";
import { parseArgs } from "../args.ts";
import { CliError, usage } from "../errors.ts";
import { type Output, PROFILE_OPTIONS } from "../output.ts";
import { loadProfile } from "../profile.ts";

export const AGENT_USAGE = `impgate agent init [DIR] [--ts] [--force]
impgate agent deploy <imp> <agent.js|agent.ts> [--note TEXT]
impgate agent show <imp> [--code [--version N]]
impgate agent rollback <imp> [--to N]
impgate agent remove <imp> [--purge]
impgate agent logs <imp> [--limit N] [--follow]
impgate agent outbound <imp> [HOST...] [--none]`;

const TEMPLATES = new URL("../../agent/", import.meta.url);
const FOLLOW_INTERVAL_MS = 1000;

export async function agentCommand(argv: string[], out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "init":
      return init(rest, out);
    case "deploy":
      return deploy(rest, out);
    case "show":
      return show(rest, out);
    case "rollback":
      return rollback(rest, out);
    case "remove":
      return remove(rest, out);
    case "logs":
      return logs(rest, out);
    case "outbound":
      return outbound(rest, out);
    default:
      throw usage(sub ? `unknown command "agent ${sub}"\n${AGENT_USAGE}` : AGENT_USAGE);
  }
}

/** The imp named first, and a client for the admin API. */
async function target(argv: string[], options: ParseArgsOptionsConfig, line: string) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...PROFILE_OPTIONS, ...options } });
  const [imp, ...more] = positionals;
  if (!imp) throw usage(`usage: ${line}`);
  const client = new AdminClient(await loadProfile(values as Parameters<typeof loadProfile>[0]));
  return { imp: encodeURIComponent(imp), values: values as Record<string, string | boolean | undefined>, more, client };
}

async function init(argv: string[], out: Output): Promise<void> {
  // Needs no edge; the profile options are accepted like everywhere else, and unused.
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...PROFILE_OPTIONS, ts: { type: "boolean" }, force: { type: "boolean" } },
  });
  const dir = positionals[0] ?? ".";
  const agentFile = values.ts ? "agent.ts" : "agent.js";
  const written: string[] = [];
  for (const name of [agentFile, "impgate-agent.d.ts"]) {
    const path = join(dir, name);
    try {
      await copyFile(new URL(name, TEMPLATES), path, values.force ? 0 : constants.COPYFILE_EXCL);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === "EEXIST" ? `${path} exists (pass --force to overwrite)` : `cannot write ${path}: ${code ?? (err as Error).message}`,
      );
    }
    written.push(path);
  }
  out.result({ files: written }, [`wrote ${written.join(" and ")}`, `deploy it: npx impgate agent deploy <imp> ${join(dir, agentFile)}`]);
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
    return stripTypeScriptTypes(source, { mode: "strip" });
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message.split("\n")[0]} (agent TypeScript may use erasable syntax only)`);
  }
}

async function deploy(argv: string[], out: Output): Promise<void> {
  const { imp, values, more, client } = await target(
    argv,
    { note: { type: "string" } },
    "impgate agent deploy <imp> <agent.js> [--note TEXT]",
  );
  const [file] = more;
  if (!file) throw usage("usage: impgate agent deploy <imp> <agent.js> [--note TEXT]");
  const code = await moduleSource(file);
  let version: AgentVersion;
  try {
    version = await client.call<AgentVersion>("POST", `/imps/${imp}/agent`, { code, note: values.note });
  } catch (err) {
    // The runtime's own message (line and column in agent.js) is the useful part.
    if (err instanceof CliError && /\(400\)|\(413\)/.test(err.message))
      throw new CliError(`${basename(file)} was not deployed: ${err.message.replace(/^edge refused \(\d+\): /, "")}`);
    throw err;
  }
  out.result(version, [
    `deployed version ${version.version} of ${basename(file)} (${version.handlers.join(", ")}; ${version.size} bytes)`,
    "the imp's agent URL runs it from now on; `impgate agent logs` shows what it writes",
  ]);
}

async function show(argv: string[], out: Output): Promise<void> {
  const { imp, values, client } = await target(
    argv,
    { code: { type: "boolean" }, version: { type: "string" } },
    "impgate agent show <imp> [--code [--version N]]",
  );
  const info = await client.call<AgentInfo>("GET", `/imps/${imp}/agent`);
  if (values.code) {
    const version = values.version === undefined ? info.active : Number(values.version);
    if (version === null) throw new CliError("the imp has no active agent code; pass --version N for a stored one");
    if (!Number.isSafeInteger(version) || version < 1) throw usage("--version takes a version number");
    const source = await client.call<AgentVersion & { code: string }>("GET", `/imps/${imp}/agent/versions/${version}`);
    out.result(source, [source.code.replace(/\n$/, "")]);
    return;
  }
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

async function rollback(argv: string[], out: Output): Promise<void> {
  const { imp, values, client } = await target(argv, { to: { type: "string" } }, "impgate agent rollback <imp> [--to N]");
  const to = values.to === undefined ? undefined : Number(values.to);
  if (to !== undefined && (!Number.isSafeInteger(to) || to < 1)) throw usage("--to takes a version number");
  const version = await client.call<AgentVersion>("POST", `/imps/${imp}/agent/rollback`, to === undefined ? {} : { version: to });
  out.result(version, [`version ${version.version} is active again (deployed ${new Date(version.deployedAt).toISOString()})`]);
}

async function remove(argv: string[], out: Output): Promise<void> {
  const { imp, values, client } = await target(argv, { purge: { type: "boolean" } }, "impgate agent remove <imp> [--purge]");
  const result = await client.call<{ active: null; purged: boolean }>("DELETE", `/imps/${imp}/agent${values.purge ? "?purge=true" : ""}`);
  out.result(result, [
    "agent code removed: requests to the agent URL go to the device again (tunnel mode)",
    values.purge ? "every stored version was deleted" : "stored versions are kept: `impgate agent rollback <imp> --to N` restores one",
  ]);
}

async function logs(argv: string[], out: Output): Promise<void> {
  const { imp, values, client } = await target(
    argv,
    { limit: { type: "string", default: "100" }, follow: { type: "boolean" } },
    "impgate agent logs <imp> [--limit N] [--follow]",
  );
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usage("--limit takes a number from 1 to 1000");
  let page = await client.call<{ entries: LogEntry[]; cursor: number }>("GET", `/imps/${imp}/agent/logs?limit=${limit}`);
  out.result(page, page.entries.length === 0 && !values.follow ? ["no log lines"] : page.entries.map(logLine));
  // --follow: poll for lines after the cursor until interrupted (one JSON object per line with --json).
  while (values.follow) {
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
    page = await client.call<{ entries: LogEntry[]; cursor: number }>("GET", `/imps/${imp}/agent/logs?after=${page.cursor}&limit=1000`);
    for (const e of page.entries) process.stdout.write(`${values.json ? JSON.stringify(e) : logLine(e)}\n`);
  }
}

function logLine(e: LogEntry): string {
  const who = e.source === "edge" ? "impgate" : `v${e.version}`;
  return `${new Date(e.at).toISOString()}  ${who.padEnd(7)} ${e.level.padEnd(5)}  ${e.message}`;
}

async function outbound(argv: string[], out: Output): Promise<void> {
  const { imp, values, more, client } = await target(
    argv,
    { none: { type: "boolean" } },
    "impgate agent outbound <imp> [HOST...] [--none]",
  );
  if (more.length === 0 && !values.none) {
    const info = await client.call<AgentInfo>("GET", `/imps/${imp}/agent`);
    out.result({ outbound: info.outbound }, [
      info.outbound.length ? `outbound: ${info.outbound.join(", ")} (HTTPS)` : "outbound: no network",
    ]);
    return;
  }
  if (more.length && values.none) throw usage("pass hosts or --none, not both");
  const result = await client.call<{ outbound: string[] }>("PUT", `/imps/${imp}/agent/outbound`, { hosts: more });
  out.result(result, [
    result.outbound.length ? `agent code may now reach: ${result.outbound.join(", ")} (HTTPS only)` : "agent code has no network now",
  ]);
}
