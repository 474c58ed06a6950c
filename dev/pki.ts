/**
 * The local development PKI in `.impgate/`: made once, reused while valid.
 *   ca.pem / ca.key            the development CA (devices pin it)
 *   backup-ca.pem / .key       a second CA whose SPKI is pinned too, so the CA can roll
 *   edge.pem / edge.key        the edge's certificate for localhost and 127.0.0.1
 */
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { issueServerCert, makeCa, spkiPin } from "./certs.ts";

export interface DevPki {
  dir: string;
  caFile: string;
  backupCaFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  pins: string[];
}

const HOSTS = ["localhost", "127.0.0.1"];

export async function ensureDevPki(dir: string): Promise<DevPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: join(dir, "ca.pem"),
    backupCaFile: join(dir, "backup-ca.pem"),
    certFile: join(dir, "edge.pem"),
    keyFile: join(dir, "edge.key"),
    pinsFile: join(dir, "pins.json"),
  };
  const existing = await readExisting(files);
  if (existing) return { dir, ...files, ...existing };

  const ca = await makeCa("impgate development CA");
  const backup = await makeCa("impgate development backup CA");
  const edge = await issueServerCert(ca, HOSTS);
  const pins = [await spkiPin(ca.keys.publicKey), await spkiPin(backup.keys.publicKey)];
  await writeFile(join(dir, "ca.key"), ca.keyPem, { mode: 0o600 });
  await writeFile(join(dir, "backup-ca.key"), backup.keyPem, { mode: 0o600 });
  await writeFile(files.keyFile, edge.keyPem, { mode: 0o600 });
  await writeFile(files.caFile, ca.certPem);
  await writeFile(files.backupCaFile, backup.certPem);
  await writeFile(files.certFile, edge.certPem);
  await writeFile(files.pinsFile, `${JSON.stringify(pins, null, 2)}\n`);
  return { dir, ...files, caPem: ca.certPem, pins };
}

async function readExisting(files: {
  caFile: string;
  certFile: string;
  keyFile: string;
  pinsFile: string;
}): Promise<{ caPem: string; pins: string[] } | null> {
  try {
    const [caPem, certPem, pinsJson] = await Promise.all([
      readFile(files.caFile, "utf8"),
      readFile(files.certFile, "utf8"),
      readFile(files.pinsFile, "utf8"),
      readFile(files.keyFile),
    ]);
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    const weekFromNow = Date.now() + 7 * 24 * 3600 * 1000;
    if (!cert.verify(ca.publicKey) || Date.parse(cert.validTo) < weekFromNow || Date.parse(ca.validTo) < weekFromNow) return null;
    return { caPem, pins: JSON.parse(pinsJson) as string[] };
  } catch {
    return null;
  }
}
