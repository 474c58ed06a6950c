/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * The console's page shell: its stylesheet and scripts (hashed files with integrity, no
 * inline script or style), a skip link, the header with navigation and sign-out, and one
 * `<main>`. Pages are server-rendered; htmx only refreshes the parts that change live.
 */
import type { Child, FC } from "hono/jsx";
import type { AssetLinks } from "./assets.ts";

export interface Shell {
  title: string;
  assets: AssetLinks;
  /** The signed-in operator and the session's CSRF token (absent on the sign-in page). */
  operator?: { who: string; csrf: string };
  /** Access signs people in and out: no sign-out button of ours. */
  viaAccess?: boolean;
}

/** The hidden field every state-changing form carries. */
export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

/** A one-button form posting one hidden field, inline in a table row: revoke, end, roll back. */
export const InlineAction: FC<{ action: string; csrf: string; name: string; value: string; label?: string; children?: Child }> = ({
  action,
  csrf,
  name,
  value,
  label,
  children,
}) => (
  <form class="inline" method="post" action={action}>
    <Csrf token={csrf} />
    <input type="hidden" name={name} value={value} />
    <button type="submit" class="secondary" aria-label={label}>
      {children}
    </button>
  </form>
);

export const Layout: FC<Shell & { children?: Child }> = ({ title, assets, operator, viaAccess, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      {/* htmx's own indicator stylesheet is not needed, and no style is made at run time. */}
      <meta name="htmx-config" content='{"includeIndicatorCSS": false}' />
      <title>{`${title} · impgate`}</title>
      <link rel="icon" href={`/console/assets/${assets.icon.file}`} type="image/svg+xml" />
      <link rel="stylesheet" href={`/console/assets/${assets.style.file}`} integrity={assets.style.integrity} />
      <script src={`/console/assets/${assets.htmx.file}`} integrity={assets.htmx.integrity} defer />
      <script src={`/console/assets/${assets.script.file}`} integrity={assets.script.integrity} defer />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/console">
          impgate
        </a>
        {operator ? (
          <nav aria-label="Console">
            <a href="/console">Fleet</a>
            <a href="/console/sessions">Sessions</a>
            <span class="who">Signed in as {operator.who}</span>
            {viaAccess ? null : (
              <form class="inline" method="post" action="/console/sign-out">
                <Csrf token={operator.csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            )}
          </nav>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </body>
  </html>
);

/** A message at the top of a page: what an action did, or why it did not. */
export const Notice: FC<{ kind?: "error" | "warn"; children?: Child }> = ({ kind, children }) => (
  <div class={kind ? `notice ${kind}` : "notice"} role={kind === "error" ? "alert" : "status"}>
    {children}
  </div>
);

export function when(at: number | null | undefined): string {
  return at
    ? new Date(at)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC")
    : "never";
}

export function ago(at: number | null | undefined, now = Date.now()): string {
  if (!at) return "never";
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
