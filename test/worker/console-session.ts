/** A browser's side of the console in the Workers runtime: its cookie jar of one, and its forms. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../worker/env.ts";
import { CONSOLE, separatedFetch } from "./separate-origins.ts";

export interface ConsoleBrowser {
  cookie: string;
  client: string;
  /** A GET as the browser sends it (with its cookie). */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A form POST from a console page (its Origin, the cookie, and the page's CSRF token unless given). */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /** The CSRF token of a page, as its forms carry it. */
  csrf(path?: string): Promise<string>;
}

/** The session cookie a response sets, as `name=value`. */
export function sessionCookie(res: Response): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith("__Host-impgate-console="));
  return set?.split(";", 1)[0];
}

export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error("no CSRF token in the page");
  return token;
}

export function browser(cookie: string, client: string, extra: Partial<Env> = {}): ConsoleBrowser {
  const b: ConsoleBrowser = {
    cookie,
    client,
    get: (path, headers = {}) =>
      separatedFetch(`${CONSOLE}${path}`, { headers: { cookie: b.cookie, "cf-connecting-ip": client, ...headers } }, extra),
    async post(path, form, headers = {}) {
      const body = new URLSearchParams({ _csrf: form._csrf ?? (await b.csrf()), ...form });
      return separatedFetch(
        `${CONSOLE}${path}`,
        {
          method: "POST",
          headers: {
            cookie: b.cookie,
            origin: CONSOLE,
            "content-type": "application/x-www-form-urlencoded",
            "cf-connecting-ip": client,
            ...headers,
          },
          body,
          redirect: "manual",
        },
        extra,
      );
    },
    async csrf(path = "/console/sessions") {
      const res = await b.get(path);
      expect(res.status).toBe(200);
      return csrfOf(await res.text());
    },
  };
  return b;
}

/** Signs in with the admin secret, as the sign-in form does. */
export async function signIn(client = `198.51.100.${Math.floor(Math.random() * 250) + 1}`): Promise<ConsoleBrowser> {
  const res = await separatedFetch(`${CONSOLE}/console/sign-in`, {
    method: "POST",
    headers: { origin: CONSOLE, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": client },
    body: new URLSearchParams({ secret: env.ADMIN_SECRET ?? "" }),
  });
  expect(res.status).toBe(303);
  const cookie = sessionCookie(res);
  if (!cookie) throw new Error("signed in without a session cookie");
  return browser(cookie, client);
}
