// Certificate revocation lists signed by a CA, in PEM, as OpenSSL, Node's tls and Mosquitto's
// crlfile read them.

import type { CertificateAuthority } from './certificate-authority.js';
import { signingAlgorithm, x509 } from './key-pair.js';
import { normalizedName, normalizedSerial } from './names.js';

export interface Revocation {
  /** Hex serial number of the revoked certificate. */
  readonly serialNumber: string;
  readonly revokedAt?: Date;
}

export interface CrlOptions {
  readonly thisUpdate?: Date;
  /** Default: 30 days after thisUpdate. */
  readonly nextUpdate?: Date;
}

export async function createCrl(
  ca: CertificateAuthority,
  revoked: readonly Revocation[],
  options: CrlOptions = {},
): Promise<string> {
  const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 60_000);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    nextUpdate: options.nextUpdate ?? new Date(thisUpdate.getTime() + 30 * 86_400_000),
    entries: revoked.map((r) => ({
      serialNumber: derIntegerHex(r.serialNumber),
      revocationDate: r.revokedAt ?? thisUpdate,
      reason: x509.X509CrlReason.keyCompromise,
    })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.certificate)],
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.keyType),
  });
  // OpenSSL, Node and Mosquitto read the RFC 7468 label "X509 CRL", not the library's "CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/** What a CRL says: who issued it and which serial numbers (lowercase hex, no leading zeros) it revokes. */
export interface CrlSummary {
  /** Issuer DN as "type=value" pairs, sorted, so it compares across formats. */
  readonly issuer: string;
  readonly revokedSerialNumbers: ReadonlySet<string>;
  /** Each entry with its date, in CRL order: what a new CRL from the same CA carries over. */
  readonly revocations: readonly Required<Revocation>[];
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
}

/** Reads a CRL in PEM (either label) or DER. */
export function readCrl(crlData: string | Uint8Array): CrlSummary {
  const crl = new x509.X509Crl(
    typeof crlData === 'string' ? crlData.replace(/X509 CRL-----/g, 'CRL-----') : new Uint8Array(crlData),
  );
  const revocations = crl.entries.map((e) => ({
    serialNumber: normalizedSerial(e.serialNumber),
    revokedAt: e.revocationDate,
  }));
  return {
    issuer: normalizedName(crl.issuer),
    revokedSerialNumbers: new Set(revocations.map((r) => r.serialNumber)),
    revocations,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
  };
}

/** Whether a CA (its DER certificate) signed this CRL. */
export async function crlSignedBy(crlData: string, caDer: Uint8Array): Promise<boolean> {
  const crl = new x509.X509Crl(crlData.replace(/X509 CRL-----/g, 'CRL-----'));
  return crl.verify({ publicKey: new x509.X509Certificate(caDer).publicKey });
}

/** A hex serial as the positive DER INTEGER content: whole bytes, a 00 before a high bit. */
function derIntegerHex(hex: string): string {
  const bare = normalizedSerial(hex);
  const even = bare.length % 2 === 1 ? `0${bare}` : bare;
  return Number.parseInt(even[0]!, 16) >= 8 ? `00${even}` : even;
}
