/**
 * When the pinned TLS check fails, say why in terms a person can act on: what this
 * device trusts (its CA certificates and SPKI pins) and what the server offered (subject,
 * issuer, SPKI sha256 of each certificate in its chain).
 *
 * The offered chain is read with a second, throwaway TLS handshake that does not verify
 * (Node destroys the refused socket before its certificate can be read): it sends nothing
 * beyond the ClientHello and is closed as soon as the certificate arrives.
 */
import { X509Certificate } from "node:crypto";
import { connect, type DetailedPeerCertificate } from "node:tls";
import type { DeviceConfig } from "./config.ts";
import { spkiPinOf } from "./pinned-tls.ts";

/** Error codes of a TLS verification failure (Node's and OpenSSL's), and of the SPKI pin check. */
const TLS_CODES =
  /^(ERR_IMPGATE_PIN_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_.*|CERT_.*)$/;

export function isTlsVerifyError(code: string | undefined): boolean {
  return code !== undefined && TLS_CODES.test(code);
}

export interface CertSummary {
  subject: string;
  issuer: string;
  spki: string;
}

export interface TlsDiagnosis {
  trusted: { ca: CertSummary[]; pins: string[] };
  offered: CertSummary[];
}

const oneLine = (dn: string) => dn.split("\n").filter(Boolean).join(", ");

export function trustedSummary(tls: DeviceConfig["tls"]): TlsDiagnosis["trusted"] {
  return {
    ca: tls.ca.map((pem) => {
      try {
        const cert = new X509Certificate(pem);
        return { subject: oneLine(cert.subject), issuer: oneLine(cert.issuer), spki: spkiPinOf(cert.raw) };
      } catch {
        return { subject: "(unreadable certificate)", issuer: "", spki: "" };
      }
    }),
    pins: tls.pins,
  };
}

/** The chain the server at `url` offers, leaf first; empty if it cannot be read within 5 s. */
export function offeredChain(url: URL): Promise<CertSummary[]> {
  return new Promise((resolve) => {
    const socket = connect({
      host: url.hostname,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      // Only to read what the server offers: nothing is sent over this socket.
      rejectUnauthorized: false,
      timeout: 5000,
    });
    const done = (chain: CertSummary[]) => {
      socket.destroy();
      resolve(chain);
    };
    socket.once("secureConnect", () => done(summarize(socket.getPeerCertificate(true))));
    socket.once("error", () => done([]));
    socket.once("timeout", () => done([]));
  });
}

function summarize(leaf: DetailedPeerCertificate): CertSummary[] {
  const chain: CertSummary[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  for (let cert: DetailedPeerCertificate | undefined = leaf; cert?.raw && !seen.has(cert); cert = cert.issuerCertificate) {
    seen.add(cert);
    const x = new X509Certificate(cert.raw);
    chain.push({ subject: oneLine(x.subject), issuer: oneLine(x.issuer), spki: spkiPinOf(cert.raw) });
  }
  return chain;
}

/** One line naming what the device trusts and what it was offered. */
export function describeTlsFailure(code: string, url: URL, d: TlsDiagnosis): string {
  const leaf = d.offered[0];
  const offered = leaf ? `${leaf.subject} issued by ${leaf.issuer} (SPKI ${leaf.spki})` : "a certificate that could not be read";
  const cas = d.trusted.ca.map((c) => `${c.subject} (SPKI ${c.spki})`).join("; ");
  const pins = d.trusted.pins.length ? `, with SPKI pins ${d.trusted.pins.join(", ")}` : "";
  return `TLS refused (${code}): ${url.host} offered ${offered}; this device trusts only the CA${d.trusted.ca.length === 1 ? "" : "s"} ${cas}${pins}`;
}
