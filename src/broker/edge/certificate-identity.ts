// A verified client certificate as an identity: the field a listener names (CN, the RFC 4514
// subject DN, a SAN entry, the SHA-256 fingerprint) becomes the username and/or the client id.
// Taken once, here at the edge; the core only sees the result.

import type { X509Certificate } from 'node:crypto';
import type { CertificateField } from '../config/config-schema.js';
import type { PeerIdentity } from '../core/ports.js';

export interface IdentityMapping {
  readonly usernameFrom?: CertificateField;
  readonly clientIdFrom?: CertificateField;
  readonly requireClientIdMatch: boolean;
}

/** The identity a certificate gives, or the reason it gives none. */
export function certificateIdentity(
  cert: X509Certificate,
  mapping: IdentityMapping,
): { identity: PeerIdentity } | { refused: string } {
  const pick = (field: CertificateField | undefined): string | undefined | { refused: string } => {
    if (field === undefined) return undefined;
    const value = certificateField(cert, field);
    if (value === undefined) return { refused: `the certificate has no ${field}` };
    // Names with NUL or bytes that were not UTF-8 (decoded as U+FFFD) could impersonate another.
    if (/[\u0000\uFFFD]/.test(value))
      return { refused: `the certificate ${field} has a NUL or invalid UTF-8` };
    return value;
  };
  const username = pick(mapping.usernameFrom);
  if (typeof username === 'object') return username;
  const clientId = pick(mapping.clientIdFrom);
  if (typeof clientId === 'object') return clientId;
  return {
    identity: {
      source: 'certificate',
      subject: rfc4514(cert.subject),
      username,
      clientId,
      requireClientIdMatch: mapping.requireClientIdMatch,
    },
  };
}

export function certificateField(cert: X509Certificate, field: CertificateField): string | undefined {
  switch (field) {
    case 'cn':
      return subjectEntries(cert.subject).findLast(([type]) => type === 'CN')?.[1];
    case 'dn':
      return rfc4514(cert.subject);
    case 'fingerprint':
      return cert.fingerprint256;
    case 'san-dns':
      return subjectAltNames(cert, 'DNS')[0];
    case 'san-email':
      return subjectAltNames(cert, 'email')[0];
    case 'san-uri':
      return subjectAltNames(cert, 'URI')[0];
  }
}

/** Node's subject: one "TYPE=value" per line, most significant first. */
function subjectEntries(subject: string): Array<[string, string]> {
  return subject
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const eq = line.indexOf('=');
      return [line.slice(0, eq), line.slice(eq + 1)];
    });
}

/** RFC 4514: least significant RDN first, comma separated, special characters escaped. */
export function rfc4514(subject: string): string {
  return subjectEntries(subject)
    .reverse()
    .map(([type, value]) => `${type}=${escapeValue(value)}`)
    .join(',');
}

function escapeValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** SAN entries of one type, e.g. DNS, email, URI; Node quotes an entry that holds a comma. */
function subjectAltNames(cert: X509Certificate, type: string): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  const found: string[] = [];
  for (const match of san.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    if (match[1] !== type) continue;
    const raw = match[2]!;
    found.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return found;
}
