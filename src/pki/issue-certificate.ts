// End-entity certificates signed by a CA: servers (SAN with DNS names and IP addresses, TLS
// server auth) and clients (TLS client auth, optional SAN e-mail or URI identities).

import { isIP } from 'node:net';
import { type CertificateAuthority, distinguishedName, joinPem } from './certificate-authority.js';
import { generateKeyPair, type KeyType, privateKeyPem, signingAlgorithm, x509 } from './key-pair.js';
import { randomSerialNumber, type ValidityOptions, validity } from './validity.js';

export interface IssuedCertificate {
  readonly subject: string;
  readonly serialNumber: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** The certificate followed by the issuing CA's intermediates: what a peer presents. */
  readonly fullChainPem: string;
  readonly keyType: KeyType;
}

export interface IssueOptions extends ValidityOptions {
  /** Common name, or a full DN. */
  readonly name: string;
  readonly kind: 'server' | 'client';
  /** Subject alternative names: host names and IP addresses (a server's), e-mails and URIs. */
  readonly hosts?: readonly string[];
  readonly emails?: readonly string[];
  readonly uris?: readonly string[];
  readonly keyType?: KeyType;
  /**
   * Extended key usage to write instead of the kind's own; [] leaves the extension out. Tests use
   * it for certificates with the wrong key usage.
   */
  readonly extendedKeyUsage?: readonly string[];
  /** OCSP responder URLs written in Authority Information Access, where clients and staplers ask. */
  readonly ocspUrls?: readonly string[];
}

export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueOptions,
): Promise<IssuedCertificate> {
  const keyType = options.keyType ?? 'ec-p256';
  const keys = await generateKeyPair(keyType);
  const subject = distinguishedName(options.name);
  const serialNumber = randomSerialNumber();
  const { notBefore, notAfter } = validity(options, options.kind === 'server' ? 397 : 365);
  const usage = options.extendedKeyUsage ?? [
    options.kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
  ];
  const keyUsage =
    keyType === 'ec-p256'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement
      : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
  ];
  if (usage.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension([...usage]));
  const names: x509.JsonGeneralName[] = [
    ...(options.hosts ?? []).map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })),
    ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  if (options.ocspUrls?.length)
    extensions.push(
      new x509.AuthorityInfoAccessExtension({
        ocsp: options.ocspUrls.map((value) => new x509.GeneralName('url', value)),
      }),
    );
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject,
    // The CA's name as encoded in its certificate, so a CA made by OpenSSL chains byte for byte.
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.keyType),
    extensions,
  });
  const certificatePem = certificate.toString('pem');
  return {
    subject,
    serialNumber,
    certificatePem,
    privateKeyPem: await privateKeyPem(keys.privateKey),
    fullChainPem: joinPem(certificatePem, ca.chainPem),
    keyType,
  };
}
