/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/**
 * What an operator does to an imp from its page. The heavy ones (rotate the URL, disable,
 * enable, revoke the device, delete) are behind a confirmation page first; each is a POST
 * with the session's CSRF token (checked in ./routes.tsx before any of these run), made
 * through the admin API (./admin-call.ts) as `console:<operator>`.
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { AddedCredential, RotatedUrl } from "../../protocol/admin-api.ts";
import { adminCall } from "./admin-call.ts";
import type { ConsoleEnv } from "./context.ts";
import { impPage, type Shown } from "./imp-page.tsx";
import { Csrf, Notice } from "./layout.tsx";
import { render } from "./render.tsx";

export type Action = "rotate" | "disable" | "enable" | "revoke-device" | "delete";
export const ACTIONS: readonly Action[] = ["rotate", "disable", "enable", "revoke-device", "delete"];

/** What `?done=` on the imp page says after an action (a fixed text: nothing from the request is shown). */
export const DONE: Record<string, string> = {
  disabled: "Disabled: callers now get 423 Locked.",
  enabled: "Enabled: callers get through again.",
  "device-revoked": "Device key revoked: the device was disconnected and cannot connect again.",
  tags: "Tags saved.",
  revoked: "Credential revoked.",
  deployed: "Agent code deployed and active.",
  "rolled-back": "That version is active now.",
};

const CONFIRM: Record<Action, { title: string; text: string; button: string; danger: boolean }> = {
  rotate: {
    title: "Rotate the agent URL",
    text: "The current agent URL, and every token minted for it, stop working at once. Its callers need the new URL, shown once on the next page.",
    button: "Rotate the URL",
    danger: false,
  },
  disable: {
    title: "Disable this imp",
    text: "From the next request on, every caller of its agent URL gets 423 Locked, no message is accepted or delivered and its agent code does not run. Its device stays connected unless you drop it too, so enabling it again needs no visit.",
    button: "Disable",
    danger: true,
  },
  enable: {
    title: "Enable this imp",
    text: "Callers get through again, and messages waiting in its queue go to the device.",
    button: "Enable",
    danger: false,
  },
  "revoke-device": {
    title: "Revoke the device key",
    text: "The device is disconnected at once and cannot connect again until the imp gets a new device key (impgate imp replace-device).",
    button: "Revoke the device key",
    danger: true,
  },
  delete: {
    title: "Delete this imp",
    text: "Its device is disconnected, and its agent URL, credentials, queue, events, state, code and audit log are deleted for good. The agent URL then answers 404 like any unknown one.",
    button: "Delete for good",
    danger: true,
  },
};

const ConfirmForm: FC<{ impId: string; label: string; action: Action; csrf: string }> = ({ impId, label, action, csrf }) => {
  const what = CONFIRM[action];
  return (
    <>
      <h1>
        {what.title}: {label}
      </h1>
      <p>{what.text}</p>
      <form class="stack" method="post" action={`/console/imps/${impId}/${action}`}>
        <Csrf token={csrf} />
        {action === "disable" ? (
          <>
            <label>
              Reason (for the audit log)
              <input type="text" name="reason" maxlength={200} />
            </label>
            <label class="check">
              <input type="checkbox" name="dropDevice" value="yes" /> Also disconnect the device, and refuse it until the imp is enabled
            </label>
          </>
        ) : null}
        {action === "delete" ? (
          <label>
            Type the imp's label, {label}, to confirm
            <input type="text" name="confirm" required autocomplete="off" />
          </label>
        ) : null}
        <div class="actions">
          <button type="submit" class={what.danger ? "danger" : ""}>
            {what.button}
          </button>
          <a class="button secondary" href={`/console/imps/${impId}`}>
            Cancel
          </a>
        </div>
      </form>
    </>
  );
};

export async function confirmPage(c: Context<ConsoleEnv>, impId: string, action: Action): Promise<Response> {
  const { who, csrf } = c.var.session;
  const view = await adminCall<{ label: string }>(c, who, "GET", `/imps/${impId}`);
  if (!view.ok) return render(c, { title: "No such imp", status: view.status }, <Notice kind="error">{view.message}</Notice>);
  return render(c, { title: CONFIRM[action].title }, <ConfirmForm impId={impId} label={view.value.label} action={action} csrf={csrf} />);
}

/** The imp page again, showing what the action did (or why not), with the API's status. */
async function showImp(c: Context<ConsoleEnv>, impId: string, shown: Shown, status?: number): Promise<Response> {
  const { who, csrf } = c.var.session;
  const page = await impPage(c, who, csrf, impId, shown);
  return render(c, { title: page.title, status: status ?? page.status }, page.body);
}

function afterAction(c: Context<ConsoleEnv>, impId: string, done: keyof typeof DONE): Response {
  return c.redirect(`/console/imps/${impId}?done=${done}`, 303);
}

async function form(c: Context<ConsoleEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** POST /console/imps/<imp>/<action>: the confirmed action. */
export async function runAction(c: Context<ConsoleEnv>, impId: string, action: Action): Promise<Response> {
  const { who } = c.var.session;
  const f = await form(c);
  const path = `/imps/${impId}`;
  switch (action) {
    case "rotate": {
      const rotated = await adminCall<RotatedUrl>(c, who, "POST", `${path}/rotate-url`);
      if (!rotated.ok) return showImp(c, impId, { notice: { kind: "error", text: rotated.message } }, rotated.status);
      return showImp(c, impId, {
        notice: { text: "The agent URL was rotated: the old one, and its tokens, stopped working now. Here is the new one." },
        agentUrl: rotated.value.agentUrl,
      });
    }
    case "disable":
    case "enable": {
      const body =
        action === "disable" ? { ...(f.reason?.trim() ? { reason: f.reason.trim() } : {}), dropDevice: f.dropDevice === "yes" } : undefined;
      const done = await adminCall(c, who, "POST", `${path}/${action}`, body);
      if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
      return afterAction(c, impId, action === "disable" ? "disabled" : "enabled");
    }
    case "revoke-device": {
      const done = await adminCall(c, who, "DELETE", `${path}/device-key`);
      if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
      return afterAction(c, impId, "device-revoked");
    }
    case "delete": {
      const view = await adminCall<{ label: string }>(c, who, "GET", path);
      if (!view.ok) return showImp(c, impId, { notice: { kind: "error", text: view.message } }, view.status);
      if (f.confirm !== view.value.label) {
        return render(
          c,
          { title: "Not deleted", status: 400 },
          <Notice kind="error">Not deleted: the label typed was not {view.value.label}.</Notice>,
        );
      }
      const done = await adminCall(c, who, "DELETE", path);
      if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
      return c.redirect("/console?done=deleted", 303);
    }
  }
}

/** POST /console/imps/<imp>/reveal: the page once more, with the agent URL in it. */
export async function reveal(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const view = await adminCall<{ agentUrl: string }>(c, c.var.session.who, "GET", `/imps/${impId}`);
  if (!view.ok) return showImp(c, impId, { notice: { kind: "error", text: view.message } }, view.status);
  return showImp(c, impId, { agentUrl: view.value.agentUrl });
}

export async function changeTags(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const f = await form(c);
  const body = { add: f.add?.trim() ? [f.add.trim().toLowerCase()] : [], remove: f.remove ? [f.remove] : [] };
  const done = await adminCall(c, c.var.session.who, "POST", `/imps/${impId}/tags`, body);
  if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
  return afterAction(c, impId, "tags");
}

export async function addCredential(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const f = await form(c);
  const kind = f.kind ?? "";
  const input: Record<string, unknown> = { kind, ...(f.label?.trim() ? { label: f.label.trim() } : {}) };
  if (kind === "jwt") {
    try {
      input.publicJwk = JSON.parse(f.publicJwk ?? "");
    } catch {
      return showImp(
        c,
        impId,
        { notice: { kind: "error", text: "The public key must be a JWK (JSON), as `impgate caller keygen` writes it." } },
        400,
      );
    }
  }
  if (kind === "webhook") input.format = f.format;
  const added = await adminCall<AddedCredential>(c, c.var.session.who, "POST", `/imps/${impId}/credentials`, input);
  if (!added.ok) return showImp(c, impId, { notice: { kind: "error", text: added.message } }, added.status);
  return showImp(c, impId, { credential: added.value });
}

export async function revokeCredential(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const f = await form(c);
  const done = await adminCall(c, c.var.session.who, "DELETE", `/imps/${impId}/credentials/${encodeURIComponent(f.credId ?? "")}`);
  if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
  return afterAction(c, impId, "revoked");
}

export async function deployAgent(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const f = await form(c);
  const body = { code: f.code ?? "", ...(f.note?.trim() ? { note: f.note.trim() } : {}) };
  const done = await adminCall(c, c.var.session.who, "POST", `/imps/${impId}/agent`, body);
  if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: `Not deployed: ${done.message}` } }, done.status);
  return afterAction(c, impId, "deployed");
}

export async function rollbackAgent(c: Context<ConsoleEnv>, impId: string): Promise<Response> {
  const f = await form(c);
  const version = Number(f.version);
  const done = await adminCall(
    c,
    c.var.session.who,
    "POST",
    `/imps/${impId}/agent/rollback`,
    Number.isSafeInteger(version) ? { version } : {},
  );
  if (!done.ok) return showImp(c, impId, { notice: { kind: "error", text: done.message } }, done.status);
  return afterAction(c, impId, "rolled-back");
}

export { showImp };
