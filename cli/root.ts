/**
 * Where the project is (agent templates live there) and its version. The bundle that
 * bin/launch.js builds has both compiled in (it runs from dist/); sources find them here.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

declare const __IMPGATE_ROOT__: string | undefined;

export const PROJECT_ROOT: string = typeof __IMPGATE_ROOT__ === "string" ? __IMPGATE_ROOT__ : fileURLToPath(new URL("..", import.meta.url));

export function version(): string {
  return (JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, "utf8")) as { version: string }).version;
}
