/** `impgate imp list|tag|disable|enable|delete` and `impgate fleet …`: what runs (the options are in ../commands/fleet.ts). */
import { createInterface } from "node:readline/promises";
import type { ImpView } from "../../protocol/admin-api.ts";
import type { DeletedImp, FleetImp, FleetPage, FleetSwitchBatch, ImpSwitch, ImpTags, ReindexBatch } from "../../protocol/fleet-api.ts";
import { AdminClient } from "../admin-client.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";

interface ListFlags extends AdminFlags {
  online?: boolean;
  offline?: boolean;
  tag?: string;
  search?: string;
  limit?: number;
}

export async function list(flags: ListFlags): Promise<void> {
  if (flags.online && flags.offline) throw new CliError("--online and --offline exclude each other; pass one (or neither: all)", 2);
  const client = await AdminClient.from(flags);
  const query = new URLSearchParams();
  if (flags.online || flags.offline) query.set("online", String(Boolean(flags.online)));
  if (flags.tag) query.set("tag", flags.tag);
  if (flags.search) query.set("q", flags.search);
  const imps: FleetImp[] = [];
  let cursor: string | null = null;
  // Page by page, as the API hands them out, until the end or --limit.
  do {
    const want = Math.min(500, (flags.limit ?? Number.MAX_SAFE_INTEGER) - imps.length);
    query.set("limit", String(want));
    if (cursor) query.set("cursor", cursor);
    const page: FleetPage = await client.call<FleetPage>("GET", `/imps?${query}`);
    imps.push(...page.imps);
    cursor = page.cursor;
  } while (cursor && imps.length < (flags.limit ?? Number.MAX_SAFE_INTEGER));
  output(flags.json).result(imps, imps.length === 0 ? ["no imps"] : table(imps));
}

function ago(at: number | null, now: number): string {
  if (at === null) return "never";
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function status(imp: FleetImp): string {
  const device = imp.online ? "online" : imp.offlineReason ? `offline (${imp.offlineReason})` : "offline";
  return imp.disabled ? `DISABLED, ${device}` : device;
}

/** A table of the imps, one per line, columns as wide as their widest cell. */
function table(imps: FleetImp[], now = Date.now()): string[] {
  const rows = [
    ["LABEL", "IMP", "STATUS", "LAST SEEN", "AGENT", "QUEUED", "TAGS"],
    ...imps.map((i) => [
      i.label,
      i.impId,
      status(i),
      i.online ? "now" : ago(i.lastSeen, now),
      i.agentMode === "code" ? `code v${i.agentVersion}` : "tunnel",
      String(i.queuedMessages),
      i.tags.join(",") || "-",
    ]),
  ];
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

export async function tag(id: string, tags: string[], flags: AdminFlags & { remove?: string[] }): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp tag"));
  const client = await AdminClient.from(flags);
  const result =
    tags.length === 0 && !flags.remove?.length
      ? { impId: id, tags: (await client.call<ImpView>("GET", `/imps/${imp}`)).tags }
      : await client.call<ImpTags>("POST", `/imps/${imp}/tags`, { add: tags, remove: flags.remove ?? [] });
  output(flags.json).result(result, [result.tags.length ? `tags: ${result.tags.join(" ")}` : "no tags"]);
}

function describeSwitch(s: ImpSwitch): string[] {
  if (!s.disabled) return [`imp ${s.impId} is enabled: callers get through`];
  return [
    `imp ${s.impId} is disabled: every caller gets 423 Locked, nothing reaches the device or its agent code`,
    s.dropDevice
      ? "its device was disconnected and is refused until `impgate imp enable`"
      : "its device stays connected, so enabling it needs no visit",
  ];
}

export async function disable(id: string, flags: AdminFlags & { reason?: string; dropDevice?: boolean }): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp disable"));
  const client = await AdminClient.from(flags);
  const result = await client.call<ImpSwitch>("POST", `/imps/${imp}/disable`, { reason: flags.reason, dropDevice: flags.dropDevice });
  output(flags.json).result(result, describeSwitch(result));
}

export async function enable(id: string, flags: AdminFlags): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp enable"));
  const client = await AdminClient.from(flags);
  const result = await client.call<ImpSwitch>("POST", `/imps/${imp}/enable`);
  output(flags.json).result(result, describeSwitch(result));
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export async function remove(id: string, flags: AdminFlags & { yes?: boolean }): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate imp delete"));
  const client = await AdminClient.from(flags);
  if (!flags.yes) {
    if (!process.stdin.isTTY) throw new CliError(`imp delete cannot be undone: pass --yes to delete ${id}`, 2);
    const view = await client.call<ImpView>("GET", `/imps/${imp}`);
    const sure = await confirm(`Delete imp ${view.label} (${view.impId})? Its agent URL, credentials, queue and code go for good. [y/N] `);
    if (!sure) throw new CliError("not deleted", 1);
  }
  const result = await client.call<DeletedImp>("DELETE", `/imps/${imp}`);
  output(flags.json).result(result, [`deleted imp ${result.impId}: its device was disconnected and its agent URL answers 404`]);
}

export async function fleetSwitch(on: boolean, flags: AdminFlags & { tag: string; reason?: string; dropDevice?: boolean }): Promise<void> {
  const client = await AdminClient.from(flags);
  const changed: string[] = [];
  const failed: FleetSwitchBatch["failed"] = [];
  let cursor: string | null | undefined;
  do {
    const body = on
      ? { tag: flags.tag, cursor: cursor ?? undefined }
      : { tag: flags.tag, reason: flags.reason, dropDevice: flags.dropDevice, cursor: cursor ?? undefined };
    const batch: FleetSwitchBatch = await client.call<FleetSwitchBatch>("POST", `/fleet/${on ? "enable" : "disable"}`, body);
    changed.push(...batch.changed);
    failed.push(...batch.failed);
    cursor = batch.cursor;
  } while (cursor);
  const verb = on ? "enabled" : "disabled";
  output(flags.json).result({ tag: flags.tag, [verb]: changed, failed }, [
    `${verb} ${changed.length} imp${changed.length === 1 ? "" : "s"} tagged ${flags.tag}`,
    ...failed.map((f) => `  not ${verb}: ${f.impId} (${f.code})`),
  ]);
  if (failed.length) process.exitCode = 1;
}

export async function reindex(flags: AdminFlags): Promise<void> {
  const client = await AdminClient.from(flags);
  const total = { checked: 0, written: 0, removed: 0 };
  let cursor: string | null | undefined;
  do {
    const batch: ReindexBatch = await client.call<ReindexBatch>("POST", "/fleet/reindex", cursor ? { cursor } : {});
    total.checked += batch.checked;
    total.written += batch.written;
    total.removed += batch.removed;
    cursor = batch.cursor;
  } while (cursor);
  const unwritten = total.checked - total.written - total.removed;
  output(flags.json).result(total, [
    `reindexed the fleet registry: ${total.written} rows written, ${total.removed} removed (imps that no longer exist)`,
    ...(unwritten ? [`${unwritten} could not be written now; run it again`] : []),
  ]);
  if (unwritten) process.exitCode = 1;
}
