import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../device/refusals.ts";

/** The exit codes systemd must not restart on: a bad config, and every refusal retrying cannot fix. */
const PERMANENT = [ExitCode.usage, ...Object.values(ExitCode).filter((code) => code >= 10)];

describe("the systemd unit", () => {
  it("restarts on failure, except on the exit codes of refusals that restarting cannot fix", async () => {
    const unit = await readFile(new URL("../../device/impgate-device.service", import.meta.url), "utf8");
    expect(unit).toMatch(/^Restart=on-failure$/m);
    const prevent = /^RestartPreventExitStatus=(.*)$/m.exec(unit)?.[1]?.split(/\s+/).map(Number);
    expect(prevent?.sort((a, b) => a - b)).toEqual(PERMANENT.sort((a, b) => a - b));
    expect(prevent).not.toContain(ExitCode.internal);
  });
});
