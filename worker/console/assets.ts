/**
 * The console's static files, served by the worker at `/console/assets/<name>.<hash>.<ext>`:
 * htmx (vendored from the `htmx.org` package: worker/console/assets/htmx.min.js.txt, kept
 * equal to it by a test), the console's stylesheet, its one small script and its icon. Named by a hash
 * of their content, so they are cached for good and a new version is a new URL; pages link
 * them with Subresource Integrity. No inline script or style exists, so the
 * Content-Security-Policy allows none.
 */
import type { Context } from "hono";
import { base64url } from "jose";
import css from "./assets/console.css.txt";
import js from "./assets/console.js.txt";
import htmx from "./assets/htmx.min.js.txt";

interface Asset {
  body: string;
  type: string;
  /** `<name>.<hash>.<ext>` */
  file: string;
  /** `sha384-…`, for the integrity attribute. */
  integrity: string;
}

/** A plain mark for the tab: browsers ask for an icon, and a 404 in the console is noise. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b57d0"/><circle cx="8" cy="8" r="3" fill="#fff"/></svg>`;

const SOURCES = [
  { name: "htmx", ext: "js", type: "text/javascript; charset=utf-8", body: htmx },
  { name: "icon", ext: "svg", type: "image/svg+xml", body: ICON },
  { name: "console", ext: "js", type: "text/javascript; charset=utf-8", body: js },
  { name: "console", ext: "css", type: "text/css; charset=utf-8", body: css },
] as const;

/** Made once per isolate: three digests of ~40 KB. */
let made: Promise<Map<string, Asset>> | undefined;

async function digest(alg: "SHA-256" | "SHA-384", text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(alg, new TextEncoder().encode(text)));
}

export function assets(): Promise<Map<string, Asset>> {
  made ??= (async () => {
    const map = new Map<string, Asset>();
    for (const s of SOURCES) {
      const hash = base64url.encode((await digest("SHA-256", s.body)).subarray(0, 9));
      const integrity = `sha384-${btoa(String.fromCharCode(...(await digest("SHA-384", s.body))))}`;
      const file = `${s.name}.${hash}.${s.ext}`;
      map.set(`${s.name}.${s.ext}`, { body: s.body, type: s.type, file, integrity });
      map.set(file, { body: s.body, type: s.type, file, integrity });
    }
    return map;
  })();
  return made;
}

/** What a page links: the hashed file names and their integrity values. */
export interface AssetLinks {
  htmx: Asset;
  script: Asset;
  style: Asset;
  icon: Asset;
}

export async function assetLinks(): Promise<AssetLinks> {
  const map = await assets();
  const get = (key: string): Asset => {
    const asset = map.get(key);
    if (!asset) throw new Error(`no console asset ${key}`);
    return asset;
  };
  return { htmx: get("htmx.js"), script: get("console.js"), style: get("console.css"), icon: get("icon.svg") };
}

/** `GET /console/assets/<file>`: only the hashed names, immutable. */
export async function serveAsset(c: Context): Promise<Response> {
  const file = c.req.param("file") ?? "";
  const asset = (await assets()).get(file);
  if (!asset || asset.file !== file) return c.notFound();
  return new Response(asset.body, {
    headers: { "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" },
  });
}
