// What a person needs to know about a certificate, from Node's own X509Certificate: subject,
// issuer, names, validity with days left, key type, fingerprint.

import { type KeyObject, X509Certificate } from 'node:crypto';

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly subjectAltNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Whole days until notAfter from `now`; negative once expired. */
  readonly daysLeft: number;
  readonly keyType: string;
  readonly isCa: boolean;
  readonly fingerprintSha256: string;
}

export function describeCertificate(
  certificate: string | Buffer | X509Certificate,
  now: Date = new Date(),
): CertificateSummary {
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const notAfter = new Date(cert.validTo);
  const keyType = describeKey(cert.publicKey);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber.toLowerCase(),
    subjectAltNames: cert.subjectAltName ? cert.subjectAltName.split(', ') : [],
    notBefore: new Date(cert.validFrom),
    notAfter,
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    keyType,
    isCa: cert.ca,
    fingerprintSha256: cert.fingerprint256,
  };
}

/** A key's type and size in words: "EC prime256v1", "RSA 2048", "ED25519". */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  return `${(key.asymmetricKeyType ?? 'unknown').toUpperCase()} ${details?.namedCurve ?? details?.modulusLength ?? ''}`.trim();
}
