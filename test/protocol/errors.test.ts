/** The one list of error codes, and the README table that documents it. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { ERROR_STATUS } from "../../protocol/errors.ts";

async function documented(): Promise<Map<string, number>> {
  const readme = await readFile(join(PROJECT_ROOT, "README.md"), "utf8");
  const table = /<!-- error-codes:begin -->([\s\S]*?)<!-- error-codes:end -->/.exec(readme)?.[1] ?? "";
  const rows = new Map<string, number>();
  for (const line of table.split("\n")) {
    const match = /^\| `([a-z0-9_]+)` +\| (\d{3}) +\|/.exec(line);
    if (match?.[1] && match[2]) rows.set(match[1], Number(match[2]));
  }
  return rows;
}

describe("error codes", () => {
  it("are documented in the README, each with its status, and the README lists no other", async () => {
    const rows = await documented();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    for (const [code, status] of rows) expect({ code, status }).toEqual({ code, status: ERROR_STATUS[code as keyof typeof ERROR_STATUS] });
  });
});
