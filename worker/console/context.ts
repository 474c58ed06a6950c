/** What the console's middleware hands its pages: the bindings, and the operator's session (./session.ts). */
import type { Env } from "../env.ts";

/** A console session, as its row holds it. */
export interface Session {
  /** SHA-256 of the cookie's token, base64url: the row's key (safe to show; it signs nobody in). */
  id: string;
  who: string;
  client: string;
  csrf: string;
  createdAt: number;
  rotatedAt: number;
  seenAt: number;
  expiresAt: number;
}

export type ConsoleEnv = {
  Bindings: Env;
  Variables: {
    session: Session;
    /** Signed in by Cloudflare Access (no sign-out button of ours). */
    viaAccess: boolean;
  };
};
