/** The real `impgate` CLI as a child process, run as a user would run it. */
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../dev/edge-process.ts";

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A config directory of the tests' own: the CLI never reads or writes the user's ~/.config. */
export const TEST_CONFIG_HOME = join(tmpdir(), `impgate-e2e-config-${process.pid}`);

/**
 * Runs `impgate` (or, with `bin`, `impgate-device`) from a folder outside the repository, with
 * a config directory of its own (XDG_CONFIG_HOME, unless `env` names one). Never throws for a
 * failing command: its exit code and output are the result.
 */
export async function impgate(
  args: string[],
  env: Record<string, string> = {},
  cwd = tmpdir(),
  bin: "impgate" | "impgate-device" = "impgate",
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(PROJECT_ROOT, "bin", `${bin}.js`), ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: TEST_CONFIG_HOME, ...env },
      cwd,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
