/** `impgate audit <imp>`: the imp's security events, newest first. */

import { AdminClient } from "../admin-client.ts";
import { parseArgs } from "../args.ts";
import { usage } from "../errors.ts";
import { type Output, PROFILE_OPTIONS } from "../output.ts";
import { loadProfile } from "../profile.ts";

export const AUDIT_USAGE = "impgate audit <imp> [--limit N]";

interface Entry {
  at: number;
  event: string;
  client: string;
  detail: Record<string, unknown>;
}

export async function auditCommand(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...PROFILE_OPTIONS, limit: { type: "string", default: "50" } },
  });
  const [imp] = positionals;
  if (!imp) throw usage(`usage: ${AUDIT_USAGE}`);
  const client = new AdminClient(await loadProfile(values));
  const { entries } = await client.call<{ entries: Entry[] }>(
    "GET",
    `/imps/${encodeURIComponent(imp)}/audit?limit=${encodeURIComponent(values.limit)}`,
  );
  out.result(
    { entries },
    entries.length === 0
      ? ["no events"]
      : entries.map(
          (e) =>
            `${new Date(e.at).toISOString()}  ${e.event.padEnd(18)} ${e.client.padEnd(20)} ${Object.entries(e.detail)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}`,
        ),
  );
}
