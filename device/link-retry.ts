/**
 * What the device link does between connection attempts: whether a refusal is believed
 * (refusals.ts) and which device key to try next (key-ring.ts), the backoff before the next
 * attempt, and a TLS failure reported once per distinct cause. Apart from link.ts, which
 * keeps the connection and its frames.
 */

import { Backoff } from "./backoff.ts";
import type { DeviceConfig } from "./config.ts";
import type { KeyRing } from "./key-ring.ts";
import type { Logger } from "./log.ts";
import { type AttemptEnd, classify, PermanentRefusal, RefusalTracker } from "./refusals.ts";
import { describeTlsFailure, offeredChain, trustedSummary } from "./tls-diagnosis.ts";

export class LinkRetry {
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly refusals = new RefusalTracker();
  private lastTlsReport = "";
  private readonly config: DeviceConfig;
  private readonly keyRing: KeyRing;
  private readonly log: Logger;
  private readonly configFile: string | undefined;

  constructor(config: DeviceConfig, keyRing: KeyRing, log: Logger, configFile: string | undefined) {
    this.config = config;
    this.keyRing = keyRing;
    this.log = log;
    this.configFile = configFile;
    this.backoff = new Backoff(config.reconnect.baseMs, config.reconnect.maxMs);
  }

  /** An attempt got through: the next failure starts the backoff and the refusal count afresh. */
  reset(): void {
    this.backoff.reset();
    this.refusals.reset();
  }

  /** Runs `open` after the next backoff delay. */
  schedule(open: () => void): void {
    const delay = this.backoff.next();
    this.log("info", "reconnecting", { inMs: delay });
    this.retryTimer = setTimeout(open, delay);
  }

  /** Drops a scheduled attempt. */
  cancel(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Whether the attempt's end was a refusal to believe (then it throws), and which device key to try next. */
  async afterClose(end: AttemptEnd & { offeredKid?: string }): Promise<void> {
    if (end.phase === "ready") this.keyRing.restart();
    const refusal = classify(end);
    if (!refusal) {
      this.refusals.reset();
      return;
    }
    if (refusal.cause === "device_key_rejected" && (await this.keyRing.tryAnother())) return;
    if (!this.refusals.record(refusal.cause, refusal.trusted)) {
      this.log("warn", "refused; retrying in case the answer was not the edge's", { cause: refusal.cause });
      return;
    }
    const keys = await this.keyRing.keys().catch(() => null);
    const permanent = new PermanentRefusal(refusal.cause, {
      impId: this.config.impId,
      edgeUrl: this.config.edgeUrl,
      configFile: this.configFile,
      pinnedKids: keys?.edgeKids,
      offeredKid: end.offeredKid,
    });
    this.log("error", permanent.message, { cause: permanent.cause, exitCode: permanent.exitCode });
    throw permanent;
  }

  /** Once per distinct failure: a daemon retrying for hours does not repeat the whole story. */
  async reportTlsFailure(code: string, url: URL): Promise<void> {
    const trusted = trustedSummary(this.config.tls);
    const offered = await offeredChain(url);
    const line = describeTlsFailure(code, url, { trusted, offered });
    if (line === this.lastTlsReport) return;
    this.lastTlsReport = line;
    this.log("error", line, { code, offered: offered[0], trusted });
  }
}
