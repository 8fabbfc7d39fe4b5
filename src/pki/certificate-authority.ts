// Certificate authorities: a self-signed root, or an intermediate signed by another CA. Used for
// the broker's development CA and for the PKI the tests generate on every run.

import {
  type CryptoKeyPair,
  generateKeyPair,
  type KeyType,
  privateKeyPem,
  signingAlgorithm,
  x509,
} from './key-pair.js';
import { randomSerialNumber, type ValidityOptions, validity } from './validity.js';

export interface CertificateAuthority {
  /** Distinguished name, e.g. "CN=Warden Development CA". */
  readonly subject: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Intermediates to send with a certificate this CA issues: this CA and its issuers, no root ('' for a root). */
  readonly chainPem: string;
  readonly keyType: KeyType;
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface CertificateAuthorityOptions extends ValidityOptions {
  /** Common name, or a full DN such as "CN=Root, O=Example". */
  readonly name: string;
  readonly keyType?: KeyType;
  /** Sign with this CA (an intermediate); self-signed root when absent. */
  readonly issuer?: CertificateAuthority;
  /** Maximum number of intermediates below this CA. */
  readonly pathLength?: number;
}

export function distinguishedName(name: string): string {
  return name.includes('=') ? name : `CN=${name}`;
}

export async function createCertificateAuthority(
  options: CertificateAuthorityOptions,
): Promise<CertificateAuthority> {
  const keyType = options.keyType ?? 'ec-p256';
  const keys = await generateKeyPair(keyType);
  const subject = distinguishedName(options.name);
  const { notBefore, notAfter } = validity(options, 3650);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, options.pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const issuer = options.issuer;
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject,
    issuer: issuer ? issuer.certificate.subjectName : subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer ? issuer.keyType : keyType),
    extensions,
  });
  const certificatePem = certificate.toString('pem');
  return {
    subject,
    certificatePem,
    privateKeyPem: await privateKeyPem(keys.privateKey),
    chainPem: issuer ? joinPem(certificatePem, issuer.chainPem) : '',
    keyType,
    certificate,
    keys,
  };
}

/** Concatenates PEM blocks, skipping empty ones, one newline-terminated block after another. */
export function joinPem(...blocks: string[]): string {
  return blocks
    .filter((b) => b.trim() !== '')
    .map((b) => `${b.trim()}\n`)
    .join('');
}
