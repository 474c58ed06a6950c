/**
 * The operator's side of agent code: deploy (checked first), rollback, remove, the
 * outbound allowlist. Every change is audited and noted in the agent log, and takes
 * effect with the next request (the isolate id changes with it).
 *
 * The check loads the module once in a throwaway isolate with no bindings and no
 * network: a syntax error, a missing import or a top-level exception is refused with
 * the runtime's own message, and the module must export at least one handler.
 */

import type { EdgeEnv } from "../edge/env.ts";
import { fail, ok, type Result } from "../edge/errors.ts";
import { AGENT_HANDLERS, type AgentHandler, type AgentInfo, type AgentVersion } from "../protocol/admin-api.ts";
import { toHex } from "../protocol/bytes.ts";
import { type AgentCodeStore, MAX_AGENT_CODE_BYTES, MAX_OUTBOUND_HOSTS, OUTBOUND_HOST_PATTERN, VERSIONS_KEPT } from "./agent-code.ts";
import { AGENT_LIMITS, AGENT_MODULE, probeWorkerCode } from "./agent-isolate.ts";
import type { AgentLogs } from "./agent-logs.ts";
import type { AuditLog } from "./audit-log.ts";

const PROBE_TIMEOUT_MS = 10_000;

/** What deploys read and write: the bindings (the Worker Loader) and the imp's own stores. */
export interface AgentDeployDeps {
  env: EdgeEnv;
  code: AgentCodeStore;
  logs: AgentLogs;
  audit: AuditLog;
}

export class AgentDeploys {
  private readonly deps: AgentDeployDeps;

  constructor(deps: AgentDeployDeps) {
    this.deps = deps;
  }

  info(): AgentInfo {
    const active = this.deps.code.activeVersion();
    return {
      active,
      versions: this.deps.code.list().map((v) => ({ ...v, active: v.version === active })),
      outbound: this.deps.code.outbound(),
      limits: { ...AGENT_LIMITS, codeBytes: MAX_AGENT_CODE_BYTES, versionsKept: VERSIONS_KEPT },
    };
  }

  async deploy(input: { code: string; note: string | null }, client: string): Promise<Result<AgentVersion>> {
    const bytes = new TextEncoder().encode(input.code);
    if (bytes.byteLength > MAX_AGENT_CODE_BYTES)
      return fail(
        "code_too_large",
        `Agent code may take up to ${MAX_AGENT_CODE_BYTES} bytes (this is ${bytes.byteLength}); bundle and minify it`,
      );
    const checked = await this.check(input.code);
    if (!checked.ok) return checked;
    const sha256 = toHex(await crypto.subtle.digest("SHA-256", bytes));
    const version = this.deps.code.deploy({ code: input.code, sha256, handlers: checked.value, note: input.note }, client, Date.now());
    this.deps.audit.record("agent_deployed", client, { version: version.version, sha256: sha256.slice(0, 16), size: version.size });
    this.deps.logs.append(
      [{ level: "info", message: `version ${version.version} deployed (${version.handlers.join(", ")})` }],
      "edge",
      version.version,
    );
    return ok(version);
  }

  /** Back to `version`, or to the one before the active version. */
  rollback(version: number | null, client: string): Result<AgentVersion> {
    const from = this.deps.code.activeVersion();
    const target = version ?? this.deps.code.previous();
    if (target === null) return fail("no_previous_version", "There is no earlier stored version to roll back to");
    if (!this.deps.code.activate(target))
      return fail("version_not_found", `Version ${target} is not stored (the newest ${VERSIONS_KEPT} are kept)`);
    this.deps.audit.record("agent_rolled_back", client, { from: from ?? "none", to: target });
    this.deps.logs.append(
      [{ level: "info", message: `rolled back to version ${target}${from === null ? "" : ` from ${from}`}` }],
      "edge",
      target,
    );
    const activated = this.deps.code.list().find((v) => v.version === target);
    return activated ? ok(activated) : fail("version_not_found", `Version ${target} is not stored`);
  }

  /** Tunnel mode again; `purge` also deletes every stored version. */
  remove(purge: boolean, client: string): void {
    const from = this.deps.code.activeVersion();
    this.deps.code.deactivate(purge);
    this.deps.audit.record("agent_removed", client, { version: from ?? "none", purge });
    this.deps.logs.append(
      [
        {
          level: "info",
          message: `agent code removed${purge ? " and every stored version deleted" : ""}: requests go to the device again`,
        },
      ],
      "edge",
      null,
    );
  }

  setOutbound(hosts: string[], client: string): Result<string[]> {
    const clean = [...new Set(hosts.map((h) => h.trim().toLowerCase()))].sort();
    const bad = clean.find((h) => !OUTBOUND_HOST_PATTERN.test(h));
    if (bad !== undefined) return fail("bad_host", `"${bad.slice(0, 80)}" is not a host name (use api.example.com or *.example.com)`);
    if (clean.length > MAX_OUTBOUND_HOSTS) return fail("too_many_hosts", `At most ${MAX_OUTBOUND_HOSTS} hosts`);
    this.deps.code.setOutbound(clean);
    this.deps.audit.record("agent_outbound_changed", client, { hosts: clean.join(" ") || "none" });
    this.deps.logs.append(
      [{ level: "info", message: clean.length ? `outbound allowed to: ${clean.join(", ")}` : "outbound: no network" }],
      "edge",
      this.deps.code.activeVersion(),
    );
    return ok(clean);
  }

  /** Loads the module once, with nothing to reach: does it start, and which handlers does it export? */
  private async check(code: string): Promise<Result<AgentHandler[]>> {
    const worker = this.deps.env.LOADER.load(probeWorkerCode(code));
    const probe = worker.getEntrypoint() as unknown as { probe(): Promise<{ handlers: string[] }> };
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([
        probe.probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${AGENT_MODULE} did not finish loading within ${PROBE_TIMEOUT_MS / 1000} s`)),
            PROBE_TIMEOUT_MS,
          );
        }),
      ]);
      const handlers = AGENT_HANDLERS.filter((h) => result.handlers.includes(h));
      if (handlers.length === 0) {
        return fail(
          "agent_invalid",
          `${AGENT_MODULE} must \`export default { fetch(request, env, ctx) {…}, onDeviceEvent(event, env, ctx) {…} }\` (at least one of them)`,
        );
      }
      return ok(handlers);
    } catch (err) {
      return fail("agent_invalid", compilerMessage(err));
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}

/** The runtime's own words, without its wrapper: "SyntaxError: Unexpected token '}'\n  at agent.js:3:1". */
function compilerMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/^Failed to start Worker:\s*/, "")
    .replace(/^Uncaught /, "")
    .slice(0, 2000);
}
