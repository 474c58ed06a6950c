/** `impgate tail <imp>`: what runs. Lines go to stdout as they come; what happens to the link goes to stderr. */
import type { TailLine } from "../../protocol/tail.ts";
import { CliError } from "../errors.ts";
import { impId } from "../hints.ts";
import type { AdminFlags } from "../output.ts";
import { loadProfile } from "../profile.ts";
import { followTail, formatTailLine } from "../tail-client.ts";

/** `--status 4xx,503`: which statuses to print. */
export function statusFilter(spec: string | undefined): (status: number) => boolean {
  if (spec === undefined) return () => true;
  const parts = spec.split(",").map((p) => p.trim().toLowerCase());
  const tests = parts.map((p) => {
    if (/^[1-5]xx$/.test(p)) return (s: number) => Math.floor(s / 100) === Number(p[0]);
    if (/^[1-5]\d\d$/.test(p)) return (s: number) => s === Number(p);
    throw new CliError(`--status takes classes like 4xx or statuses like 404, comma-separated (not "${p}")`, 2);
  });
  return (status) => tests.some((t) => t(status));
}

export async function tail(id: string, flags: AdminFlags & { status?: string }): Promise<void> {
  const imp = impId(id, "impgate tail");
  const wanted = statusFilter(flags.status);
  const profile = await loadProfile(flags);
  const say = (text: string) => process.stderr.write(`impgate: ${text}\n`);
  const reader = followTail(profile, imp, {
    line(line: TailLine) {
      if (wanted(line.status)) process.stdout.write(`${flags.json ? JSON.stringify(line) : formatTailLine(line)}\n`);
    },
    dropped(count) {
      if (flags.json) process.stdout.write(`${JSON.stringify({ dropped: count })}\n`);
      else say(`${count} line${count === 1 ? "" : "s"} dropped: they came faster than this terminal read them`);
    },
    connected(again) {
      say(again ? "tailing again (requests in between were not seen)" : `tailing ${imp} on ${profile.edgeUrl} (Ctrl-C to stop)`);
    },
    lost(why, inMs) {
      say(`${why}; reconnecting in ${(inMs / 1000).toFixed(1)} s`);
    },
  });
  const stop = () => reader.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await reader.done;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
