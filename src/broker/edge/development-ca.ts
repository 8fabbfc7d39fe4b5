// The development CA: a TLS listener without a certificate gets one from a local CA generated in
// the data directory (ECDSA P-256; SAN localhost, 127.0.0.1, ::1 and this host's name), reused on
// later starts while it is valid and covers those names. The CA's private key is not kept: no one
// can issue more certificates from it, and a new CA is made when the server certificate must change.

import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

const DAY = 86_400_000;

export interface DevelopmentCertificate {
  /** The CA a client trusts (e.g. mosquitto_sub --cafile). */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** False when an earlier start's files were reused. */
  readonly created: boolean;
}

export function developmentHosts(extra: readonly string[] = []): string[] {
  const wildcard = new Set(['0.0.0.0', '::', '']);
  return [
    ...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...extra.filter((h) => !wildcard.has(h))]),
  ];
}

export async function developmentCertificate(
  dataDir: string,
  hosts: readonly string[],
  now = new Date(),
): Promise<DevelopmentCertificate> {
  const dir = resolve(dataDir, 'development-ca');
  const files = {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
  if (await reusable(files, hosts, now)) return { ...files, created: false };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Loaded only to make a new CA: a restart that reuses the files never loads @peculiar/x509.
  const { createCertificateAuthority, issueCertificate } = await import('../../pki/index.js');
  const ca = await createCertificateAuthority({ name: `CN=Warden Development CA (${hostname()}), O=Warden` });
  const server = await issueCertificate(ca, { name: 'localhost', kind: 'server', hosts: [...hosts] });
  await writeFile(files.caFile, ca.certificatePem);
  await writeFile(files.certFile, server.fullChainPem);
  await writeFile(files.keyFile, server.privateKeyPem, { mode: 0o600 });
  return { ...files, created: true };
}

/** The files of an earlier start: all present, valid for at least a week more, covering every host. */
async function reusable(
  files: { caFile: string; certFile: string; keyFile: string },
  hosts: readonly string[],
  now: Date,
): Promise<boolean> {
  try {
    const [, certPem] = await Promise.all([
      readFile(files.caFile),
      readFile(files.certFile),
      readFile(files.keyFile),
    ]);
    const cert = new X509Certificate(certPem);
    if (new Date(cert.validTo).getTime() - now.getTime() < 7 * DAY) return false;
    return hosts.every((h) => (/^[\d.]+$|:/.test(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}
