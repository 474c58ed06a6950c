/**
 * `npm run build:device`: the device daemon as one file, `dist/impgate-device.mjs`, for
 * copying to a device (with its config) and running under plain Node >= 22. Bundled, it
 * starts faster and idles in about a third less memory than running the TypeScript sources,
 * which makes Node load its type-stripping compiler.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DEVICE_BUNDLE = join(ROOT, "dist", "impgate-device.mjs");

export async function buildDevice(outfile = DEVICE_BUNDLE): Promise<string> {
  await build({
    entryPoints: [join(ROOT, "device", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    legalComments: "linked",
    // ws and other CommonJS dependencies call require(): give the ESM bundle one.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __impgateRequire } from 'node:module'; const require = __impgateRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildDevice();
  process.stdout.write(
    `built ${out}: copy it and the device config to the device, then run: node impgate-device.mjs --config device.json\n`,
  );
}
