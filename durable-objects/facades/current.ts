/** Whether a call came through the imp's current agent URL, shared by the caller-facing facades. */
import type { AgentCall } from "../../edge/agent-call.ts";
import type { ImpParts } from "../imp-parts.ts";
import type { ImpRecord } from "../imp-record.ts";

const encoder = new TextEncoder();

/** The imp, if `call` came through its current agent URL; a rotated id gets the same null as an unknown one. */
export async function currentImp(parts: ImpParts, call: AgentCall): Promise<ImpRecord | null> {
  const imp = await parts.record.get();
  if (!imp) return null;
  const a = encoder.encode(imp.urlSecret);
  const b = encoder.encode(call.urlSecret);
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b) ? imp : null;
}
