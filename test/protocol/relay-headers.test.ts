/** The one list of headers a caller cannot pass to the device, and the README table that documents it. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";
import { HOP_BY_HOP, isHopByHop, isStrippedRequestHeader, STRIPPED_REQUEST_HEADERS } from "../../protocol/index.ts";

describe("relay headers", () => {
  it("are documented in the README exactly as the list holds them", async () => {
    const readme = await readFile(join(PROJECT_ROOT, "README.md"), "utf8");
    const table = /<!-- relay-headers:begin -->([\s\S]*?)<!-- relay-headers:end -->/.exec(readme)?.[1] ?? "";
    const rows = table.split("\n").filter((line) => line.startsWith("| `"));
    const documented = rows.flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect(documented.sort()).toEqual([...HOP_BY_HOP, ...STRIPPED_REQUEST_HEADERS].sort());
  });

  it("match names case-insensitively, with _ and - alike, and * as a prefix", () => {
    for (const name of [
      "Forwarded",
      "X_Forwarded_For",
      "x-forwarded-anything",
      "TRUE_CLIENT_IP",
      "impgate_credential",
      "CF_Connecting_IP",
      "Authorization",
    ]) {
      expect(isStrippedRequestHeader(name), name).toBe(true);
    }
    for (const name of ["x-custom", "content-type", "accept", "x-forwarded", "cookie"])
      expect(isStrippedRequestHeader(name), name).toBe(false);
    expect(isHopByHop("Transfer_Encoding")).toBe(true);
    expect(isHopByHop("x-forwarded-for")).toBe(false);
  });
});
