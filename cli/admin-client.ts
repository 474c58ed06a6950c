/** The admin API, as the CLI calls it. Errors come back as the API's own short message. */
import { hostname, userInfo } from "node:os";
import type { ErrorBody } from "../protocol/errors.ts";
import { OPERATOR_HEADER } from "../protocol/fleet-api.ts";
import { CliError } from "./errors.ts";
import { httpRequest } from "./http.ts";
import { loadProfile, type Profile, type ProfileFlags } from "./profile.ts";

export class AdminClient {
  readonly profile: Profile;
  constructor(profile: Profile) {
    this.profile = profile;
  }

  /** A client for the edge the flags, the environment or the profile name. */
  static async from(flags: ProfileFlags): Promise<AdminClient> {
    return new AdminClient(await loadProfile(flags));
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await httpRequest(`${this.profile.edgeUrl}/admin${path}`, {
      method,
      trust: this.profile.trust,
      headers: {
        authorization: `Bearer ${this.profile.adminSecret}`,
        // Who makes the change, for the edge's audit log (the secret says only that it is an admin).
        [OPERATOR_HEADER]: operator(),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString("utf8"));
    } catch {
      throw new CliError(`edge answered ${res.status} with a non-JSON body`);
    }
    if (res.status >= 400) {
      const message = (json as Partial<ErrorBody>).error?.message ?? "request refused";
      throw new CliError(`edge refused (${res.status}): ${message}`);
    }
    return json as T;
  }
}

/** user@host, as the audit log's "by" (printable ASCII, at most 64 characters; the edge checks it too). */
function operator(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no user entry (a container): keep "unknown"
  }
  return `${user}@${hostname()}`.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}
