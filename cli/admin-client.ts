/** The admin API, as the CLI calls it. Errors come back as the API's own short message. */
import { CliError } from "./errors.ts";
import { httpRequest } from "./http.ts";
import type { Profile } from "./profile.ts";

export class AdminClient {
  readonly profile: Profile;
  constructor(profile: Profile) {
    this.profile = profile;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await httpRequest(`${this.profile.edgeUrl}/admin${path}`, {
      method,
      ca: this.profile.ca,
      headers: {
        authorization: `Bearer ${this.profile.adminSecret}`,
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
      const message = (json as { error?: { message?: string } }).error?.message ?? "request refused";
      throw new CliError(`edge refused (${res.status}): ${message}`);
    }
    return json as T;
  }
}
