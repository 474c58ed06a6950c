/** Whether a call came through the imp's current agent URL, shared by the caller-facing facades. */
import type { AgentCall } from "../../edge/agent-call.ts";
import { type Failure, fail } from "../../edge/errors.ts";
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

/**
 * The kill switch (`impgate imp disable`): 423 with no detail, to every caller of the imp's
 * current agent URL, before any credential is looked at. Decided here, in the imp's object,
 * where the switch is stored: no cache in any worker isolate can let a request past it.
 */
export const LOCKED: Failure = fail("locked", "Locked");
