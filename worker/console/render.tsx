/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/** A whole console page: the shell (./layout.tsx) around a page's body, as HTML with its doctype. */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { assetLinks } from "./assets.ts";
import type { ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";

export interface PageOptions {
  title: string;
  status?: number;
  /** Pages before sign-in have no operator. */
  signedOut?: boolean;
  headers?: Record<string, string>;
}

export async function render(c: Context<ConsoleEnv>, options: PageOptions, body: Child): Promise<Response> {
  const session = options.signedOut ? undefined : c.var.session;
  const page = (
    <Layout
      title={options.title}
      assets={await assetLinks()}
      operator={session ? { who: session.who, csrf: session.csrf } : undefined}
      viaAccess={c.var.viaAccess}
    >
      {body}
    </Layout>
  );
  const html = `<!doctype html>${await page.toString()}`;
  return c.html(html, (options.status ?? 200) as ContentfulStatusCode, options.headers);
}

/** A page fragment for htmx (no shell). */
export async function fragment(c: Context<ConsoleEnv>, body: Child): Promise<Response> {
  // biome-ignore lint/complexity/noUselessFragments: the fragment makes any Child (text, list, node) one node to render
  return c.html(`${await (<>{body}</>).toString()}`);
}
