/**
 * Where the browser tests find Chromium: `CHROMIUM_PATH` if set, else Debian's `chromium`
 * (what .ci/run installs) or `chromium-headless-shell`. Without one they are skipped with one
 * line saying so, except under CI, where a missing browser fails the run.
 */
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-headless-shell"];

export const HOW_TO_ENABLE = "set CHROMIUM_PATH to a Chromium binary, or install Debian's chromium (apt-get install chromium)";

export type Chromium = { path: string } | { path?: undefined; reason: string };

export function findChromium(env: NodeJS.ProcessEnv = process.env): Chromium {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) return existsSync(chosen) ? { path: chosen } : { reason: `CHROMIUM_PATH is ${chosen}, which does not exist` };
  const found = CANDIDATES.find((p) => existsSync(p));
  return found ? { path: found } : { reason: `no Chromium at ${CANDIDATES.join(" or ")}` };
}

/** Whether this run is CI's (`.ci/run` sets CI=1; CI services set CI=true). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.CI) && !/^(0|false|no)$/i.test(env.CI ?? "");
}
