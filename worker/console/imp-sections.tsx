/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * The settings sections of an imp's page, each from the admin API: its status (refreshed
 * live, with its message queue), tags, caller credentials and agent code. The record
 * sections (events, agent log, audit log) are in ./imp-records.tsx. Nothing here shows the
 * agent URL or id: only the reveal does (./imp-page.tsx).
 */
import type { FC } from "hono/jsx";
import type { AgentInfo, CredentialView, ImpView } from "../../protocol/admin-api.ts";
import { StatusBadges } from "./fleet-page.tsx";
import { ago, Csrf, InlineAction, when } from "./layout.tsx";

/** Why a device is offline, in words. */
const OFFLINE_BECAUSE: Record<string, string> = {
  closed: "its connection closed",
  silent: "it went silent (no heartbeat within the presence timeout)",
  replaced: "a newer connection of it took over",
  revoked: "its key was revoked or replaced",
};

export const StatusFacts: FC<{ view: ImpView }> = ({ view }) => (
  <dl class="facts">
    <dt>Device</dt>
    <dd>
      <StatusBadges online={view.online} disabled={view.disabled !== null} offlineReason={view.offlineReason} />{" "}
      {view.online ? `since ${when(view.connectedSince)}` : view.offlineSince ? `since ${when(view.offlineSince)}` : ""}
      {!view.deviceKey ? " (device key revoked)" : ""}
    </dd>
    {!view.online && view.offlineReason ? (
      <>
        <dt>Went offline because</dt>
        <dd>{OFFLINE_BECAUSE[view.offlineReason] ?? view.offlineReason}</dd>
      </>
    ) : null}
    {view.silentSince ? (
      <>
        <dt>Went silent</dt>
        <dd>
          {when(view.silentSince)} ({ago(view.silentSince)})
        </dd>
      </>
    ) : null}
    <dt>Last seen</dt>
    <dd>{view.online ? "now" : `${ago(view.lastSeen)} (${when(view.lastSeen)})`}</dd>
    <dt>Presence</dt>
    <dd>
      {view.presenceTimeoutS === 0
        ? "checks off: offline only once its connection closes"
        : `offline after ${view.presenceTimeoutS} s without a heartbeat`}
    </dd>
    <dt>Daemon</dt>
    <dd>{view.deviceAgent ?? "unknown"}</dd>
    {view.rttMs !== null ? (
      <>
        <dt>Round trip</dt>
        <dd>{view.rttMs} ms</dd>
      </>
    ) : null}
    <dt>Agent</dt>
    <dd>{view.agentVersion === null ? "tunnel mode (requests go to the device)" : `code version ${view.agentVersion}`}</dd>
    <dt>Messages</dt>
    <dd>
      {view.queuedMessages} queued of at most {view.queueLimit}
      {view.oldestQueuedAt ? `, oldest ${ago(view.oldestQueuedAt)}` : ""}
    </dd>
    <dt>Callers</dt>
    <dd>
      {view.public ? "anyone (authentication off)" : "authenticated"}
      {view.publicApis ? ", agent APIs open to anyone" : ""}; {view.allowHttp ? "plain HTTP allowed" : "HTTPS only"}
      {view.cspSandbox ? "; replies sandboxed" : ""}
    </dd>
    {view.disabled ? (
      <>
        <dt>Disabled</dt>
        <dd>
          {when(view.disabled.at)} by {view.disabled.by}
          {view.disabled.reason ? `: ${view.disabled.reason}` : ""}
          {view.disabled.dropDevice ? " (device dropped)" : ""}
        </dd>
      </>
    ) : null}
  </dl>
);

export const Tags: FC<{ view: ImpView; csrf: string }> = ({ view, csrf }) => (
  <>
    <p>
      {view.tags.length === 0
        ? "No tags."
        : view.tags.map((t) => (
            <form class="inline" method="post" action={`/console/imps/${view.impId}/tags`}>
              <Csrf token={csrf} />
              <input type="hidden" name="remove" value={t} />
              <span class="tag">{t}</span>
              <button type="submit" class="secondary" aria-label={`Remove tag ${t}`}>
                ×
              </button>{" "}
            </form>
          ))}
    </p>
    <form class="filters" method="post" action={`/console/imps/${view.impId}/tags`}>
      <Csrf token={csrf} />
      <label>
        Add a tag
        <input type="text" name="add" maxlength={32} pattern="[a-z0-9][a-z0-9_.:\-]{0,31}" required />
      </label>
      <button type="submit">Add tag</button>
    </form>
  </>
);

export const Credentials: FC<{ impId: string; creds: CredentialView[]; csrf: string }> = ({ impId, creds, csrf }) => (
  <>
    {creds.length === 0 ? (
      <p class="muted">No caller credentials: only a public imp can be called.</p>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Kind</th>
              <th scope="col" class="wide">
                Id
              </th>
              <th scope="col">Added</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {creds.map((cr) => (
              <tr>
                <td>{cr.label}</td>
                <td>
                  {cr.kind}
                  {cr.format ? ` (${cr.format})` : ""}
                </td>
                <td class="wide mono">{cr.id}</td>
                <td>{when(cr.createdAt)}</td>
                <td>
                  {cr.revokedAt ? (
                    `revoked ${ago(cr.revokedAt)}`
                  ) : (
                    <InlineAction
                      action={`/console/imps/${impId}/credentials/revoke`}
                      csrf={csrf}
                      name="credId"
                      value={cr.id}
                      label={`Revoke credential ${cr.label}`}
                    >
                      Revoke
                    </InlineAction>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
    <details>
      <summary>Add a credential</summary>
      <form class="stack" method="post" action={`/console/imps/${impId}/credentials`}>
        <Csrf token={csrf} />
        <label>
          Kind
          <select name="kind">
            <option value="jwt">JWT: the caller's public key (recommended)</option>
            <option value="webhook">Signed webhook</option>
            <option value="totp">Rotating code (TOTP)</option>
            <option value="jwt-secret">JWT with a shared secret</option>
          </select>
        </label>
        <label>
          Label
          <input type="text" name="label" maxlength={64} />
        </label>
        <label>
          Public key (JWK, for JWT)
          <textarea name="publicJwk" rows={4} placeholder='{"kty":"OKP","crv":"Ed25519","x":"…"}' />
        </label>
        <label>
          Webhook format
          <select name="format">
            <option value="github">GitHub (X-Hub-Signature-256)</option>
            <option value="stripe">Stripe-style (Stripe-Signature)</option>
            <option value="generic">generic (Impgate-Signature)</option>
          </select>
        </label>
        <button type="submit">Add credential</button>
      </form>
    </details>
  </>
);

export const AgentCode: FC<{ impId: string; info: AgentInfo; csrf: string }> = ({ impId, info, csrf }) => (
  <>
    <p>{info.active === null ? "Tunnel mode: requests go to the device's local service." : `Version ${info.active} is active.`}</p>
    {info.versions.length ? (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Deployed</th>
              <th scope="col" class="wide">
                Note
              </th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...info.versions].reverse().map((v) => (
              <tr>
                <td>
                  {v.version}
                  {v.active ? " (active)" : ""}
                </td>
                <td>{when(v.deployedAt)}</td>
                <td class="wide">{v.note ?? ""}</td>
                <td>
                  {v.active ? null : (
                    <InlineAction
                      action={`/console/imps/${impId}/agent/rollback`}
                      csrf={csrf}
                      name="version"
                      value={String(v.version)}
                      label={`Roll back to version ${v.version}`}
                    >
                      Make active
                    </InlineAction>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    ) : null}
    <details>
      <summary>Deploy agent code</summary>
      <form class="stack" method="post" action={`/console/imps/${impId}/agent`}>
        <Csrf token={csrf} />
        <label>
          Agent module (JavaScript, at most {Math.round(info.limits.codeBytes / 1024)} KiB)
          <textarea name="code" rows={14} required />
        </label>
        <label>
          Note
          <input type="text" name="note" maxlength={200} />
        </label>
        <button type="submit">Deploy</button>
      </form>
    </details>
  </>
);
