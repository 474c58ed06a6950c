/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * The record sections of an imp's page, each from the admin API: the device's events with a
 * chart, the agent log and the audit log. Read-only: the settings sections are in
 * ./imp-sections.tsx.
 */
import type { FC } from "hono/jsx";
import type { AuditEntry, LogEntry } from "../../protocol/admin-api.ts";
import { EventChart, type EventView, numericValue } from "./chart.tsx";
import { ago, when } from "./layout.tsx";

export const Events: FC<{ latest: EventView[]; chartName: string | null; history: EventView[]; impId: string }> = ({
  latest,
  chartName,
  history,
  impId,
}) => (
  <>
    {latest.length === 0 ? (
      <p class="muted">No events from the device yet.</p>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Latest value</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {latest.map((e) => (
              <tr>
                <td>
                  {numericValue(e.data) ? (
                    <a href={`/console/imps/${impId}?chart=${encodeURIComponent(e.name)}#events`}>{e.name}</a>
                  ) : (
                    e.name
                  )}
                </td>
                <td class="mono">{e.encoding ? `(${String(e.data).length} base64 characters)` : JSON.stringify(e.data).slice(0, 200)}</td>
                <td>{ago(e.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
    {chartName ? <EventChart name={chartName} events={history} /> : null}
  </>
);

export const AgentLog: FC<{ entries: LogEntry[] }> = ({ entries }) =>
  entries.length === 0 ? (
    <p class="muted">No agent log lines.</p>
  ) : (
    <div class="table-wrap">
      <table>
        <tbody>
          {[...entries].reverse().map((e) => (
            <tr>
              <td>{when(e.at)}</td>
              <td>{e.level}</td>
              <td class="mono">{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );

export const Audit: FC<{ entries: AuditEntry[] }> = ({ entries }) =>
  entries.length === 0 ? (
    <p class="muted">No events.</p>
  ) : (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col" class="wide">
              Client
            </th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr>
              <td>{when(e.at)}</td>
              <td>{e.event}</td>
              <td class="wide mono">{e.client}</td>
              <td class="mono">
                {Object.entries(e.detail)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(" ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
