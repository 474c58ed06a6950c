/** Agent messages as a caller sends them (`POST /_messages`) and as the local service receives them. */
import type { E2E } from "./e2e.ts";
import type { Received } from "./local-service.ts";
import type { CreatedImp } from "./system.ts";

/** The message id the daemon hands the local service with each message. */
export const idOf = (r: Received): string => String(r.headers["impgate-message-id"]);

/** Whether the daemon flagged this delivery as a repeat (its handler may have run before). */
export const redelivered = (r: Received): boolean => r.headers["impgate-redelivered"] === "1";

/** Sends a message (`?query` names it, e.g. `name=door&ttl=5`); fails unless it was queued (202). Returns its id. */
export async function sendMessage(
  e2e: E2E,
  imp: CreatedImp,
  query: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await e2e.call(imp, `/_messages?${query}`, { method: "POST", body, headers });
  if (res.status !== 202) throw new Error(`POST /_messages?${query}: ${res.status} ${res.body.toString()}`);
  return (JSON.parse(res.body.toString()) as { id: string }).id;
}

/** Sends `count` messages named "seq" with bodies "0", "1", …, one after another; returns their ids. */
export async function sendNumbered(e2e: E2E, imp: CreatedImp, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) ids.push(await sendMessage(e2e, imp, "name=seq", String(n)));
  return ids;
}

/** A message's status as the caller sees it: queued, delivered, expired… */
export async function messageStatus(e2e: E2E, imp: CreatedImp, id: string): Promise<string> {
  const res = await e2e.call(imp, `/_messages/${id}`);
  return (JSON.parse(res.body.toString()) as { status: string }).status;
}
