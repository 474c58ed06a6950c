/**
 * Pinned TLS for the device link. Trust comes only from the config: the `ca` option
 * replaces Node's root store (so neither the OS store nor NODE_EXTRA_CA_CERTS counts),
 * and, when SPKI pins are set, some certificate in the verified chain must match one.
 */
import { createHash, X509Certificate } from "node:crypto";
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";
import type { DeviceConfig } from "./config.ts";

export interface PinnedTlsOptions {
  ca: string[];
  rejectUnauthorized: true;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

export function spkiPinOf(der: Buffer): string {
  const spki = new X509Certificate(der).publicKey.export({ type: "spki", format: "der" });
  return `sha256/${createHash("sha256").update(spki).digest("base64")}`;
}

/** The pins of every certificate the server presented, leaf first. */
function chainPins(cert: PeerCertificate): string[] {
  const pins: string[] = [];
  const seen = new Set<PeerCertificate>();
  let current: PeerCertificate | undefined = cert;
  while (current?.raw && !seen.has(current)) {
    seen.add(current);
    pins.push(spkiPinOf(current.raw));
    current = (current as DetailedPeerCertificate).issuerCertificate;
  }
  return pins;
}

export function pinnedTlsOptions(tls: DeviceConfig["tls"]): PinnedTlsOptions {
  const pins = new Set(tls.pins);
  return {
    ca: tls.ca,
    rejectUnauthorized: true,
    checkServerIdentity(host, cert) {
      const hostError = checkServerIdentity(host, cert);
      if (hostError) return hostError;
      if (pins.size === 0) return undefined;
      if (chainPins(cert).some((pin) => pins.has(pin))) return undefined;
      return Object.assign(new Error("no certificate in the server's chain matches a pinned SPKI"), { code: "ERR_IMPGATE_PIN_MISMATCH" });
    },
  };
}
