/**
 * The console serves htmx from a copy in the repository (worker/console/assets/), so what
 * runs in operators' browsers is reviewed like the rest of the code; it must be the
 * `htmx.org` package's own file, byte for byte. After `npm update htmx.org`:
 *   cp node_modules/htmx.org/dist/htmx.min.js worker/console/assets/htmx.min.js.txt
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

describe("the console's htmx", () => {
  it("is the htmx.org package's htmx.min.js, unchanged", async () => {
    const vendored = await readFile(new URL("../../worker/console/assets/htmx.min.js.txt", import.meta.url));
    const packaged = await readFile(new URL("../../node_modules/htmx.org/dist/htmx.min.js", import.meta.url));
    expect(vendored.equals(packaged)).toBe(true);
  });
});
