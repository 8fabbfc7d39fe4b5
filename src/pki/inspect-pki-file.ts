// What a PKI file holds, whatever its form: PEM (certificates, bundles, CRLs, keys), DER
// (a certificate or a CRL) or PKCS#12. Secrets are never returned: a key is named, not shown.

import { createPrivateKey } from 'node:crypto';
import { type CrlSummary, readCrl } from './crl.js';
import { type CertificateSummary, describeCertificate, describeKey } from './describe-certificate.js';
import { pemBlocks } from './pem.js';
import { readPkcs12 } from './pkcs12.js';

export interface PkiFileContents {
  readonly format: 'pem' | 'der' | 'pkcs12';
  readonly certificates: readonly CertificateSummary[];
  readonly crls: readonly CrlSummary[];
  /** Key type of each private key found, e.g. "EC prime256v1"; never the key itself. */
  readonly privateKeys: readonly string[];
}

export async function inspectPkiFile(
  data: Uint8Array,
  options: { passphrase?: string; now?: Date } = {},
): Promise<PkiFileContents> {
  const bytes = Buffer.from(data);
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN ')) return inspectPem(text, options);
  try {
    return {
      format: 'der',
      certificates: [describeCertificate(bytes, options.now)],
      crls: [],
      privateKeys: [],
    };
  } catch {}
  try {
    return { format: 'der', certificates: [], crls: [readCrl(bytes)], privateKeys: [] };
  } catch {}
  let contents: Awaited<ReturnType<typeof readPkcs12>>;
  try {
    contents = await readPkcs12(bytes, options.passphrase);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('not a PKCS#12'))
      throw new Error('neither PEM nor a DER certificate, CRL or PKCS#12 file');
    throw new Error(`PKCS#12: ${message}`);
  }
  return {
    format: 'pkcs12',
    certificates: contents.certificatesPem.map((pem) => describeCertificate(pem, options.now)),
    crls: [],
    privateKeys: contents.privateKeyPem ? [keyType(contents.privateKeyPem)] : [],
  };
}

function inspectPem(text: string, options: { now?: Date }): PkiFileContents {
  const certificates: CertificateSummary[] = [];
  const crls: CrlSummary[] = [];
  const privateKeys: string[] = [];
  for (const { label, text: block } of pemBlocks(text)) {
    if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE')
      certificates.push(
        describeCertificate(block.replace(/TRUSTED CERTIFICATE/g, 'CERTIFICATE'), options.now),
      );
    else if (label === 'X509 CRL' || label === 'CRL') crls.push(readCrl(block));
    else if (label.endsWith('PRIVATE KEY'))
      privateKeys.push(label === 'ENCRYPTED PRIVATE KEY' ? 'encrypted' : keyType(block));
  }
  if (certificates.length + crls.length + privateKeys.length === 0)
    throw new Error('no certificate, CRL or private key in it');
  return { format: 'pem', certificates, crls, privateKeys };
}

function keyType(pem: string): string {
  return describeKey(createPrivateKey(pem));
}
