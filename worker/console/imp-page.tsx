/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * One imp's page. Its agent URL is a secret (whoever has it can try to call the device), so
 * it is never in the page, a link or a log line until the operator reveals it: a POST, whose
 * answer shows it once, with a button that copies it.
 */
import type { Context } from "hono";
import type { Child, FC } from "hono/jsx";
import type { AddedCredential, AgentInfo, AuditEntry, CredentialView, ImpView, LogPage } from "../../protocol/admin-api.ts";
import { adminCall } from "./admin-call.ts";
import type { EventView } from "./chart.tsx";
import type { ConsoleEnv } from "./context.ts";
import { LIVE_EVERY, StatusBadges } from "./fleet-page.tsx";
import { AgentLog, Audit, Events } from "./imp-records.tsx";
import { AgentCode, Credentials, StatusFacts, Tags } from "./imp-sections.tsx";
import { Csrf, Notice } from "./layout.tsx";

/** What an action hands the page to show once: a message, the agent URL, a new credential's secret. */
export interface Shown {
  notice?: { kind?: "error" | "warn"; text: string };
  agentUrl?: string;
  credential?: AddedCredential;
}

/** A value to copy, shown once: a read-only field and a Copy button (console.js). */
export const Secret: FC<{ id: string; label: string; value: string; children?: Child }> = ({ id, label, value, children }) => (
  <div>
    <label for={id}>{label}</label>
    <div class="secret">
      <input id={id} type="text" readonly value={value} autocomplete="off" spellcheck={false} />
      <button type="button" data-copy={id}>
        Copy
      </button>
      <span id={`${id}-status`} role="status" class="muted" />
    </div>
    {children}
  </div>
);

async function load<T>(promise: Promise<{ ok: true; value: T } | { ok: false; message: string }>, fallback: T): Promise<T> {
  const answer = await promise;
  return answer.ok ? answer.value : fallback;
}

/** The live status block alone: what htmx fetches every few seconds. */
export async function impStatus(c: Context<ConsoleEnv>, who: string, impId: string) {
  const view = await adminCall<ImpView>(c, who, "GET", `/imps/${impId}`);
  return view.ok ? <StatusFacts view={view.value} /> : <Notice kind="error">{view.message}</Notice>;
}

export async function impPage(c: Context<ConsoleEnv>, who: string, csrf: string, impId: string, shown: Shown = {}) {
  const view = await adminCall<ImpView>(c, who, "GET", `/imps/${impId}`);
  if (!view.ok) return { title: "No such imp", status: view.status, body: <Notice kind="error">{view.message}</Notice> };
  const imp = view.value;
  const chartWanted = c.req.query("chart");
  const [creds, audit, agent, logs, events] = await Promise.all([
    load(adminCall<{ credentials: CredentialView[] }>(c, who, "GET", `/imps/${impId}/credentials`), { credentials: [] }),
    load(adminCall<{ entries: AuditEntry[] }>(c, who, "GET", `/imps/${impId}/audit?limit=30`), { entries: [] }),
    adminCall<AgentInfo>(c, who, "GET", `/imps/${impId}/agent`),
    load(adminCall<LogPage>(c, who, "GET", `/imps/${impId}/agent/logs?limit=30`), { entries: [], cursor: 0 }),
    load(adminCall<{ latest: EventView[] }>(c, who, "GET", `/imps/${impId}/events?limit=1`), { latest: [] }),
  ]);
  const numeric = events.latest.filter((e) => typeof e.data === "number" || (typeof e.data === "object" && e.data !== null));
  const chartName = events.latest.some((e) => e.name === chartWanted) ? (chartWanted ?? null) : (numeric[0]?.name ?? null);
  const history = chartName
    ? await load(
        adminCall<{ history: EventView[] }>(c, who, "GET", `/imps/${impId}/events?name=${encodeURIComponent(chartName)}&limit=60`),
        {
          history: [],
        },
      )
    : { history: [] };
  const body = (
    <>
      <h1>
        {imp.label} <StatusBadges online={imp.online} disabled={imp.disabled !== null} />
      </h1>
      <p class="muted mono">{imp.impId}</p>
      {shown.notice ? <Notice kind={shown.notice.kind}>{shown.notice.text}</Notice> : null}
      {imp.disabled ? (
        <Notice kind="warn">
          Disabled: every caller of this imp's agent URL gets 423 Locked, and nothing reaches its device or agent code.
        </Notice>
      ) : null}

      <section aria-labelledby="status-h">
        <h2 id="status-h">Status</h2>
        <div id="status" hx-get={`/console/imps/${impId}/status`} hx-trigger={LIVE_EVERY}>
          <StatusFacts view={imp} />
        </div>
      </section>

      <section aria-labelledby="url-h">
        <h2 id="url-h">Agent URL</h2>
        {shown.agentUrl ? (
          <Secret id="agent-url" label="Agent URL (a secret: share it only with callers who need it)" value={shown.agentUrl} />
        ) : (
          <form method="post" action={`/console/imps/${impId}/reveal`}>
            <Csrf token={csrf} />
            <p class="muted">Hidden, as it is a secret.</p>
            <button type="submit" class="secondary">
              Reveal the agent URL
            </button>
          </form>
        )}
      </section>

      <section aria-labelledby="actions-h">
        <h2 id="actions-h">Actions</h2>
        <div class="actions">
          <a class="button secondary" href={`/console/imps/${impId}/confirm/rotate`}>
            Rotate URL…
          </a>
          {imp.disabled ? (
            <a class="button secondary" href={`/console/imps/${impId}/confirm/enable`}>
              Enable…
            </a>
          ) : (
            <a class="button danger" href={`/console/imps/${impId}/confirm/disable`}>
              Disable…
            </a>
          )}
          {imp.deviceKey ? (
            <a class="button danger" href={`/console/imps/${impId}/confirm/revoke-device`}>
              Revoke device…
            </a>
          ) : null}
          <a class="button danger" href={`/console/imps/${impId}/confirm/delete`}>
            Delete…
          </a>
        </div>
      </section>

      <section aria-labelledby="tags-h">
        <h2 id="tags-h">Tags</h2>
        <Tags view={imp} csrf={csrf} />
      </section>

      <section aria-labelledby="creds-h">
        <h2 id="creds-h">Caller credentials</h2>
        {shown.credential ? <NewCredential added={shown.credential} /> : null}
        <Credentials impId={impId} creds={creds.credentials} csrf={csrf} />
      </section>

      <section aria-labelledby="events-h" id="events">
        <h2 id="events-h">Device events</h2>
        <Events latest={events.latest} chartName={chartName} history={history.history} impId={impId} />
      </section>

      <section aria-labelledby="queue-h">
        <h2 id="queue-h">Message queue</h2>
        <p>
          {imp.queuedMessages} message{imp.queuedMessages === 1 ? "" : "s"} waiting for the device (at most {imp.queueLimit})
          {imp.disabled && imp.queuedMessages ? "; held while the imp is disabled" : ""}.
        </p>
      </section>

      <section aria-labelledby="agent-h">
        <h2 id="agent-h">Agent code</h2>
        {agent.ok ? <AgentCode impId={impId} info={agent.value} csrf={csrf} /> : <Notice kind="error">{agent.message}</Notice>}
      </section>

      <section aria-labelledby="tail-h" data-tail={`/console/imps/${impId}/tail`}>
        <h2 id="tail-h">Live request log</h2>
        <p class="muted" role="status" data-tail-status>
          Connecting…
        </p>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
                <th scope="col">Answer</th>
                <th scope="col">Took</th>
                <th scope="col">Credential</th>
              </tr>
            </thead>
            <tbody />
          </table>
        </div>
      </section>

      <section aria-labelledby="log-h">
        <h2 id="log-h">Agent log</h2>
        <AgentLog entries={logs.entries} />
      </section>

      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Audit log</h2>
        <Audit entries={audit.entries} />
      </section>
    </>
  );
  return { title: imp.label, status: 200, body };
}

const NewCredential: FC<{ added: AddedCredential }> = ({ added }) => (
  <Notice kind="warn">
    <p>
      Credential {added.credential.label} ({added.credential.kind}) added.
      {added.secret ? " Its secret is shown once: copy it now." : ""}
    </p>
    {added.secret ? (
      <Secret id="new-secret" label={`Secret${added.header ? ` (the sender signs into ${added.header})` : ""}`} value={added.secret} />
    ) : null}
    {added.otpauthUri ? <Secret id="new-otpauth" label="For an authenticator app" value={added.otpauthUri} /> : null}
  </Notice>
);
