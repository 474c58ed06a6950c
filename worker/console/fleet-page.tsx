/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * The fleet page: every imp in the registry, searched (label or imp id), filtered by tag and
 * by online or offline, a page at a time (keyset cursors, as `GET /admin/imps` gives them).
 * The table refreshes itself every few seconds (htmx), so a device that goes offline shows
 * as offline without a reload.
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { FleetImp, FleetPage } from "../../protocol/fleet-api.ts";
import { fleetCounts } from "../registry-query.ts";
import { adminCall } from "./admin-call.ts";
import type { ConsoleEnv } from "./context.ts";
import { ago, Notice } from "./layout.tsx";

export const LIVE_EVERY = "every 5s";
const PAGE = 50;

export interface FleetFilters {
  q: string;
  tag: string;
  online: "" | "true" | "false";
  cursor: string;
}

export function filtersOf(c: Context): FleetFilters {
  const online = c.req.query("online");
  return {
    q: (c.req.query("q") ?? "").slice(0, 100),
    tag: (c.req.query("tag") ?? "").slice(0, 32),
    online: online === "true" || online === "false" ? online : "",
    cursor: (c.req.query("cursor") ?? "").slice(0, 512),
  };
}

function query(f: FleetFilters, cursor = f.cursor): string {
  const p = new URLSearchParams();
  if (f.q) p.set("q", f.q);
  if (f.tag) p.set("tag", f.tag);
  if (f.online) p.set("online", f.online);
  if (cursor) p.set("cursor", cursor);
  const s = p.toString();
  return s ? `?${s}` : "";
}

export const StatusBadges: FC<{ online: boolean; disabled: boolean; offlineReason?: string | null }> = ({
  online,
  disabled,
  offlineReason,
}) => (
  <>
    {online ? (
      <span class="badge online">online</span>
    ) : (
      <span class="badge offline">{offlineReason ? `offline (${offlineReason})` : "offline"}</span>
    )}
    {disabled ? (
      <>
        {" "}
        <span class="badge disabled">disabled</span>
      </>
    ) : null}
  </>
);

const Row: FC<{ imp: FleetImp; filters: FleetFilters }> = ({ imp, filters }) => (
  <tr>
    <td>
      <a href={`/console/imps/${imp.impId}`}>{imp.label}</a>
      <div class="muted mono imp-id">{imp.impId}</div>
    </td>
    <td>
      <StatusBadges online={imp.online} disabled={imp.disabled} offlineReason={imp.offlineReason} />
    </td>
    <td>{imp.online ? `since ${ago(imp.onlineSince)}` : ago(imp.lastSeen)}</td>
    <td class="wide">{imp.agentMode === "code" ? `code v${imp.agentVersion}` : "tunnel"}</td>
    <td class="wide">{imp.queuedMessages}</td>
    <td>
      {imp.tags.map((t) => (
        <a class="tag" href={`/console${query({ ...filters, tag: t, cursor: "" })}`}>
          {t}
        </a>
      ))}
    </td>
  </tr>
);

/** The table and its pager: what the page shows, and what htmx fetches again every few seconds. */
export async function fleetTable(c: Context<ConsoleEnv>, who: string, filters: FleetFilters) {
  const api = new URLSearchParams({ limit: String(PAGE) });
  if (filters.q) api.set("q", filters.q);
  if (filters.tag) api.set("tag", filters.tag);
  if (filters.online) api.set("online", filters.online);
  if (filters.cursor) api.set("cursor", filters.cursor);
  const [page, counts] = await Promise.all([adminCall<FleetPage>(c, who, "GET", `/imps?${api}`), fleetCounts(c.env.REGISTRY)]);
  if (!page.ok) return <Notice kind="error">The fleet could not be listed: {page.message}</Notice>;
  const { imps, cursor } = page.value;
  return (
    <>
      <p class="summary">
        <span>{counts.total} imps</span>
        <span>{counts.online} online</span>
        <span>{counts.disabled} disabled</span>
      </p>
      <div class="table-wrap">
        <table>
          <caption class="muted">{imps.length === 0 ? "No imps match." : filters.cursor ? "Imps (a later page)" : "Imps"}</caption>
          <thead>
            <tr>
              <th scope="col">Imp</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
              <th scope="col" class="wide">
                Agent
              </th>
              <th scope="col" class="wide">
                Queued
              </th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {imps.map((imp) => (
              <Row imp={imp} filters={filters} />
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {filters.cursor ? <a href={`/console${query(filters, "")}`}>First page</a> : null}
        {cursor ? <a href={`/console${query(filters, cursor)}`}>Next page</a> : null}
      </nav>
    </>
  );
}

export const FleetPageBody: FC<{ filters: FleetFilters; table: unknown }> = ({ filters, table }) => (
  <>
    <h1>Fleet</h1>
    <form class="filters" method="get" action="/console" aria-label="Find imps">
      <label>
        Search
        <input type="search" name="q" value={filters.q} placeholder="label or imp id" maxlength={100} />
      </label>
      <label>
        Tag
        <input type="text" name="tag" value={filters.tag} maxlength={32} />
      </label>
      <label>
        Device
        <select name="online">
          <option value="" selected={filters.online === ""}>
            online or offline
          </option>
          <option value="true" selected={filters.online === "true"}>
            online
          </option>
          <option value="false" selected={filters.online === "false"}>
            offline
          </option>
        </select>
      </label>
      <button type="submit">Filter</button>
      {filters.q || filters.tag || filters.online ? (
        <a class="button secondary" href="/console">
          Clear
        </a>
      ) : null}
    </form>
    <div id="fleet" hx-get={`/console/fleet-table${query(filters)}`} hx-trigger={LIVE_EVERY}>
      {table}
    </div>
  </>
);
