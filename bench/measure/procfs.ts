/** Process facts from /proc (Linux): resident memory, children, descriptor limits. */
import { readdirSync, readFileSync } from "node:fs";

function statusField(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resident set size in bytes, or null once the process is gone. */
export function rssBytes(pid: number): number | null {
  return statusField(pid, "VmRSS");
}

/** The most the process has ever had resident, in bytes. */
export function peakRssBytes(pid: number): number | null {
  return statusField(pid, "VmHWM");
}

/** CPU time (user + system) the process has used so far, in seconds; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Resident memory split into private (anonymous) pages and pages mapped from files (the binary, libraries). */
export function memoryBreakdown(pid: number): { rss: number; anon: number; file: number; peak: number } | null {
  const rss = statusField(pid, "VmRSS");
  const anon = statusField(pid, "RssAnon");
  const file = statusField(pid, "RssFile");
  const peak = statusField(pid, "VmHWM");
  return rss === null || anon === null || file === null || peak === null ? null : { rss, anon, file, peak };
}

/** The pid of a direct child of `ppid` whose command name is `comm` (e.g. Miniflare's workerd). */
export function childPid(ppid: number, comm: string): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …; comm may hold spaces or parentheses, so split at the last ")".
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const parent = Number(stat.slice(close + 2).split(" ")[1]);
      if (parent === ppid && name === comm) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** This process's open-file limits (children inherit them). */
export function openFileLimits(): { soft: number | null; hard: number | null } {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    const n = (v: string | undefined) => (v === undefined || v === "unlimited" ? null : Number(v));
    return { soft: n(m?.[1]), hard: n(m?.[2]) };
  } catch {
    return { soft: null, hard: null };
  }
}
