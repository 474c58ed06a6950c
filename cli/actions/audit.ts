/** `impgate audit <imp>`: what runs. */
import type { AuditEntry } from "../../protocol/admin-api.ts";
import { AdminClient } from "../admin-client.ts";
import { impId } from "../hints.ts";
import { type AdminFlags, output } from "../output.ts";

export async function audit(id: string, flags: AdminFlags & { limit: number }): Promise<void> {
  const imp = encodeURIComponent(impId(id, "impgate audit"));
  const client = await AdminClient.from(flags);
  const { entries } = await client.call<{ entries: AuditEntry[] }>("GET", `/imps/${imp}/audit?limit=${flags.limit}`);
  output(flags.json).result(
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
