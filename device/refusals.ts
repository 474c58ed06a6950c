/**
 * Refusals that retrying cannot fix, and the daemon's exit code for each (systemd's
 * `RestartPreventExitStatus=` in impgate-device.service lists the same numbers).
 *
 * A refusal counts only when it can be trusted. One that arrives after the edge proved
 * the pinned edge key on that socket (a wrong device key, an unsupported protocol) is
 * the edge speaking: it ends the daemon at once. One that arrives before (an HTTP 404 for
 * the imp, a close before the challenge, a handshake not signed with a pinned edge key)
 * could come from any server the TLS pins accept, so a single one is not believed: the
 * daemon gives up only when UNTRUSTED_REPEATS attempts in a row end the same way.
 */
import { CloseCode } from "../protocol/index.ts";

/**
 * The daemon's exit codes: 0 stopped, 1 unexpected, 2 bad command line or config, 10-14
 * refusals that retrying cannot fix (README, "When it gives up").
 *
 * @example
 * ```ts
 * import { connect, ExitCode, PermanentRefusal } from "impgate/device/index.ts";
 * connect(config, handlers).on("fatal", (err) => process.exit(err instanceof PermanentRefusal ? err.exitCode : ExitCode.usage));
 * ```
 */
export const ExitCode = {
  /** Stopped by a signal. */
  stopped: 0,
  /** An unexpected error, or the daemon's state file cannot be used. */
  internal: 1,
  /** The command line or the config file is not valid. */
  usage: 2,
  /** The edge knows the imp but holds no device key for it (revoked), or the imp was deleted. */
  deviceRevoked: 10,
  /** The edge holds another device key for this imp (it was replaced). */
  deviceKeyRejected: 11,
  /** The edge does not know this imp: the config was made for another edge. */
  unknownImp: 12,
  /** The server did not sign the handshake with a pinned edge key. */
  edgeKeyMismatch: 13,
  /** The edge and this daemon share no protocol version. */
  protocolUnsupported: 14,
} as const;

/**
 * Which refusal ended the link for good.
 *
 * @example
 * ```ts
 * import type { PermanentRefusal, RefusalCause } from "impgate/device/index.ts";
 * const needsRekey = (err: PermanentRefusal) => (["device_revoked", "device_key_rejected"] as RefusalCause[]).includes(err.cause);
 * ```
 */
export type RefusalCause = "device_revoked" | "device_key_rejected" | "unknown_imp" | "edge_key_mismatch" | "protocol_unsupported";

const EXIT_FOR: Record<RefusalCause, number> = {
  device_revoked: ExitCode.deviceRevoked,
  device_key_rejected: ExitCode.deviceKeyRejected,
  unknown_imp: ExitCode.unknownImp,
  edge_key_mismatch: ExitCode.edgeKeyMismatch,
  protocol_unsupported: ExitCode.protocolUnsupported,
};

/** Attempts in a row that must end in the same untrusted refusal before the daemon believes it. */
export const UNTRUSTED_REPEATS = 3;

/** What the human line needs to say where to look. */
export interface RefusalContext {
  impId: string;
  edgeUrl: string;
  /** The config file, when the daemon was started with one. */
  configFile?: string;
  /** Edge key ids (RFC 7638 thumbprints): the ones pinned, and the one the server signed with. */
  pinnedKids?: string[];
  offeredKid?: string;
}

/**
 * A refusal retrying cannot fix: the link stops (emitting `fatal`); the daemon logs
 * `message`, one line saying what to do, and exits with `exitCode`.
 *
 * @example
 * ```ts
 * import { connect, PermanentRefusal } from "impgate/device/index.ts";
 * connect(config, handlers).on("fatal", (err) => {
 *   console.error(err.message); // one line: which refusal, and what to do
 *   if (err instanceof PermanentRefusal) process.exit(err.exitCode);
 * });
 * ```
 */
export class PermanentRefusal extends Error {
  readonly cause: RefusalCause;
  readonly exitCode: number;
  constructor(cause: RefusalCause, context: RefusalContext) {
    super(describe(cause, context));
    this.name = "PermanentRefusal";
    this.cause = cause;
    this.exitCode = EXIT_FOR[cause];
  }
}

/** One line: which refusal, and what to do about it. */
function describe(cause: RefusalCause, c: RefusalContext): string {
  const config = c.configFile ?? "the device config";
  const origin = new URL(c.edgeUrl).origin;
  const rekey = `run \`impgate-device rekey --config ${config}\` here and the \`impgate imp replace-device\` line it prints on the admin machine`;
  switch (cause) {
    case "device_revoked":
      return `the edge at ${origin} refused imp ${c.impId}: its device key was revoked or the imp was deleted; to give it a new key, ${rekey}`;
    case "device_key_rejected":
      return `the edge at ${origin} holds a different device key for imp ${c.impId} (it was replaced): use the config made with the new key, or ${rekey}`;
    case "unknown_imp":
      return `the edge at ${origin} does not know imp ${c.impId}: ${config} was made for another edge, or edgeUrl is wrong`;
    case "edge_key_mismatch": {
      const kids = c.offeredKid ? ` (it signed with edge key ${c.offeredKid}; pinned: ${(c.pinnedKids ?? []).join(", ")})` : "";
      return `the server at ${origin} did not sign the handshake with a pinned edge key${kids}: edgeKeys in ${config} are for another edge or out of date; the edge's current key is at ${origin}/admin/edge-key`;
    }
    case "protocol_unsupported":
      return `the edge at ${origin} does not speak this daemon's protocol version: update impgate-device`;
  }
}

/** Counts untrusted refusals in a row; a trusted one, or the same untrusted one repeated, is final. */
export class RefusalTracker {
  private last: RefusalCause | null = null;
  private count = 0;

  /** True when this refusal ends the daemon. */
  record(cause: RefusalCause, trusted: boolean): boolean {
    if (trusted) return true;
    this.count = this.last === cause ? this.count + 1 : 1;
    this.last = cause;
    return this.count >= UNTRUSTED_REPEATS;
  }

  /** An attempt ended some other way (ready, or a transient failure). */
  reset(): void {
    this.last = null;
    this.count = 0;
  }
}

/** How far an attempt got before it closed: the refusal is trusted only once the edge proved its key. */
export type AttemptPhase = "challenge" | "verifying" | "hello" | "ready" | "closed";

export interface AttemptEnd {
  phase: AttemptPhase;
  /** The websocket close code. */
  code: number;
  /** This device closed the socket itself (the peer's close code then means nothing). */
  closedByUs?: boolean;
  /** The HTTP status, when the edge refused the websocket upgrade. */
  httpStatus?: number;
  /** Why the edge's handshake signature failed, when the device closed for that. */
  edgeProof?: string;
}

/** The permanent refusal an attempt ended in, or null when it ended some other (transient) way. */
export function classify(end: AttemptEnd): { cause: RefusalCause; trusted: boolean } | null {
  if (end.httpStatus === 404) return { cause: "unknown_imp", trusted: false };
  if (end.edgeProof === "bad_signature") return { cause: "edge_key_mismatch", trusted: false };
  if (end.closedByUs) return null;
  // Before the challenge: the edge closes at once for an imp it does not know or whose key was revoked.
  if (end.phase === "challenge" && end.code === CloseCode.deviceRevoked) return { cause: "device_revoked", trusted: false };
  // After the edge proved its key, its refusal of our hello is the edge speaking.
  if (end.phase !== "hello") return null;
  switch (end.code) {
    case CloseCode.deviceRevoked:
      return { cause: "device_revoked", trusted: true };
    case CloseCode.badDeviceProof:
      return { cause: "device_key_rejected", trusted: true };
    case CloseCode.wrongImp:
      return { cause: "unknown_imp", trusted: true };
    case CloseCode.unsupportedVersion:
      return { cause: "protocol_unsupported", trusted: true };
    default:
      return null;
  }
}
