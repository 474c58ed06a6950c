/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * A small SVG line chart of a numeric device event's recent history, drawn on the server
 * (no script, no inline style: the stroke and text come from the console's stylesheet). An
 * event's value is its data when that is a number, or the first numeric field of an object
 * (the demo device's `temperature` events are `{ "c": 21.4, "at": … }`).
 */
import type { FC } from "hono/jsx";

export interface EventView {
  seq: number;
  name: string;
  at: number;
  data: unknown;
  encoding?: "base64";
}

/** The number an event carries, and where it was found ("" for the data itself, else the field's name). */
export function numericValue(data: unknown): { value: number; field: string } | null {
  if (typeof data === "number" && Number.isFinite(data)) return { value: data, field: "" };
  if (data && typeof data === "object" && !Array.isArray(data)) {
    for (const [field, v] of Object.entries(data)) if (typeof v === "number" && Number.isFinite(v)) return { value: v, field };
  }
  return null;
}

const W = 600;
const H = 160;
const PAD = { left: 44, right: 10, top: 12, bottom: 22 };

function label(n: number): string {
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}

export const EventChart: FC<{ name: string; events: EventView[] }> = ({ name, events }) => {
  const points = events.flatMap((e) => {
    const v = numericValue(e.data);
    return v ? [{ at: e.at, value: v.value, field: v.field }] : [];
  });
  if (points.length < 2) return <p class="muted">Not enough numeric "{name}" events for a chart yet.</p>;
  const field = points[0]?.field ?? "";
  const values = points.map((p) => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const t0 = points[0]?.at ?? 0;
  const t1 = points.at(-1)?.at ?? t0 + 1;
  const x = (at: number) => PAD.left + ((at - t0) / (t1 - t0 || 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - min) / span) * (H - PAD.top - PAD.bottom);
  const line = points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const latest = points.at(-1)?.value ?? 0;
  const what = field ? `${name}.${field}` : name;
  const summary = `${what}: ${points.length} readings from ${label(min)} to ${label(max)}, latest ${label(latest)}`;
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <title>{summary}</title>
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} />
        <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
        <text x={PAD.left - 6} y={PAD.top + 4} text-anchor="end">
          {label(max)}
        </text>
        <text x={PAD.left - 6} y={H - PAD.bottom} text-anchor="end">
          {label(min)}
        </text>
        <text x={PAD.left} y={H - 6}>
          {new Date(t0).toISOString().slice(11, 19)}
        </text>
        <text x={W - PAD.right} y={H - 6} text-anchor="end">
          {new Date(t1).toISOString().slice(11, 19)} UTC
        </text>
        <polyline class="line" points={line} />
      </svg>
      <figcaption class="muted">{summary}</figcaption>
    </figure>
  );
};
