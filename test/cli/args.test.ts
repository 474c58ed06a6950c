/** Regression (CI run, issue 3's e2e): an imp id or key thumbprint beginning with "-" was refused as an unknown option. */
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../cli/args.ts";

const options = { json: { type: "boolean" }, label: { type: "string" }, request: { type: "string", short: "X" } } as const;

describe("impgate's argument parsing", () => {
  it("takes an id that begins with '-' as a positional, in order", () => {
    const { values, positionals } = parseArgs({
      args: ["-Dxu2b7kFq0tLm9Zz3aB", "--json", "cred_-AbCdEfGhIj", "-_Q1w2e3r4t5y6u7i8o9"],
      allowPositionals: true,
      options,
    });
    expect(positionals).toEqual(["-Dxu2b7kFq0tLm9Zz3aB", "cred_-AbCdEfGhIj", "-_Q1w2e3r4t5y6u7i8o9"]);
    expect(values.json).toBe(true);
  });

  it("still gives option values that begin with '-' to their option", () => {
    const { values, positionals } = parseArgs({
      args: ["--label", "-Dxu2b7kFq0tLm9Zz3aB", "-X", "POST", "imp"],
      allowPositionals: true,
      options,
    });
    expect(values).toMatchObject({ label: "-Dxu2b7kFq0tLm9Zz3aB", request: "POST" });
    expect(positionals).toEqual(["imp"]);
  });

  it("still refuses options it does not know", () => {
    expect(() => parseArgs({ args: ["--bogus"], allowPositionals: true, options })).toThrow(/Unknown option '--bogus'/);
    expect(() => parseArgs({ args: ["-z"], allowPositionals: true, options })).toThrow(/Unknown option '-z'/);
  });
});
