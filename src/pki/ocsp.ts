// OCSP (RFC 6960) for one certificate: the request a responder expects, and the reading of its
// answer, checked before anyone trusts it: the right certificate, a signature by the issuer or by
// a responder the issuer delegated to, and a validity window that holds now. The broker staples
// answers it fetched; the client reads stapled ones.

import { createHash, type X509Certificate as NodeCertificate, verify, X509Certificate } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, ExtendedKeyUsage, id_ce_extKeyUsage } from '@peculiar/asn1-x509';

const SHA1 = '1.3.14.3.2.26';
/** Responders and clocks disagree a little; an answer dated this much in the future still counts. */
const CLOCK_SKEW_MS = 5 * 60_000;

const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export class OcspError extends Error {
  readonly code = 'ERR_OCSP';
}

export interface OcspStatus {
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly producedAt: Date;
  readonly thisUpdate: Date;
  /** Absent when the responder says newer information is always available. */
  readonly nextUpdate?: Date;
  readonly revokedAt?: Date;
}

/** The DER OCSPRequest for `certificate`, issued by `issuer` (SHA-1 CertID, as responders expect). */
export function ocspRequest(certificate: NodeCertificate, issuer: NodeCertificate): Buffer {
  const request = new OCSPRequest({
    tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId(certificate, issuer) })] }),
  });
  return Buffer.from(AsnConvert.serialize(request));
}

/** The OCSP responder URLs a certificate names in its Authority Information Access. */
export function ocspResponderUrls(certificate: NodeCertificate): string[] {
  return [...(certificate.infoAccess ?? '').matchAll(/^OCSP - URI:(\S+)$/gm)].map((m) => m[1]!);
}

/**
 * Reads a DER OCSPResponse about `certificate` and checks it; throws an OcspError naming what is
 * wrong (not successful, about another certificate, bad signature, unauthorized signer, stale).
 */
export function readOcspResponse(
  der: Uint8Array,
  certificate: NodeCertificate,
  issuer: NodeCertificate,
  now = new Date(),
): OcspStatus {
  let response: OCSPResponse;
  let basic: BasicOCSPResponse;
  try {
    response = AsnConvert.parse(der, OCSPResponse);
  } catch {
    throw new OcspError('not a DER OCSP response');
  }
  if (response.responseStatus !== OCSPResponseStatus.successful)
    throw new OcspError(
      `responder answered ${OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`,
    );
  if (response.responseBytes?.responseType !== id_pkix_ocsp_basic)
    throw new OcspError('not a basic OCSP response');
  try {
    basic = AsnConvert.parse(response.responseBytes.response, BasicOCSPResponse);
  } catch {
    throw new OcspError('malformed basic OCSP response');
  }

  const wanted = certId(certificate, issuer);
  const single = basic.tbsResponseData.responses.find((r) =>
    sameCertId(r.certID, wanted, certificate, issuer),
  );
  if (single === undefined) throw new OcspError('the response is about another certificate');

  const signer = responseSigner(basic, issuer);
  const hash = SIGNATURE_HASHES[basic.signatureAlgorithm.algorithm];
  if (hash === undefined)
    throw new OcspError(`unsupported signature algorithm ${basic.signatureAlgorithm.algorithm}`);
  const signed = basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData);
  if (!verify(hash, Buffer.from(signed), signer.publicKey, Buffer.from(basic.signature)))
    throw new OcspError('the response signature does not verify');

  const { thisUpdate, nextUpdate } = single;
  if (thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS)
    throw new OcspError(`the response is not valid before ${thisUpdate.toISOString()}`);
  if (nextUpdate !== undefined && nextUpdate.getTime() < now.getTime())
    throw new OcspError(`the response expired on ${nextUpdate.toISOString()}`);

  const status = single.certStatus.revoked
    ? 'revoked'
    : single.certStatus.unknown !== undefined
      ? 'unknown'
      : 'good';
  return {
    status,
    producedAt: basic.tbsResponseData.producedAt,
    thisUpdate,
    nextUpdate,
    revokedAt: single.certStatus.revoked?.revocationTime,
  };
}

function certId(certificate: NodeCertificate, issuer: NodeCertificate, hash = 'sha1', oid = SHA1): CertID {
  const issuerTbs = AsnConvert.parse(issuer.raw, Certificate).tbsCertificate;
  const digest = (data: ArrayBuffer) => new OctetString(createHash(hash).update(Buffer.from(data)).digest());
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: oid, parameters: null }),
    issuerNameHash: digest(AsnConvert.serialize(issuerTbs.subject)),
    issuerKeyHash: digest(issuerTbs.subjectPublicKeyInfo.subjectPublicKey),
    serialNumber: AsnConvert.parse(certificate.raw, Certificate).tbsCertificate.serialNumber,
  });
}

const HASH_NAMES: Readonly<Record<string, string>> = {
  [SHA1]: 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** A responder may hash with another algorithm than we asked: compare in the one it used. */
function sameCertId(
  got: CertID,
  wanted: CertID,
  certificate: NodeCertificate,
  issuer: NodeCertificate,
): boolean {
  const hash = HASH_NAMES[got.hashAlgorithm.algorithm];
  if (hash === undefined) return false;
  const expected = hash === 'sha1' ? wanted : certId(certificate, issuer, hash, got.hashAlgorithm.algorithm);
  const eq = (a: ArrayBuffer, b: ArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));
  return (
    eq(got.issuerNameHash.buffer, expected.issuerNameHash.buffer) &&
    eq(got.issuerKeyHash.buffer, expected.issuerKeyHash.buffer) &&
    eq(got.serialNumber, expected.serialNumber)
  );
}

/** The issuer itself, or a certificate it issued for OCSP signing (RFC 6960 §4.2.2.2). */
function responseSigner(basic: BasicOCSPResponse, issuer: NodeCertificate): NodeCertificate {
  for (const embedded of basic.certs ?? []) {
    const cert = new X509Certificate(Buffer.from(AsnConvert.serialize(embedded)));
    if (cert.raw.equals(issuer.raw)) return issuer;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) continue;
    const eku = embedded.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_extKeyUsage);
    const usages = eku ? AsnConvert.parse(eku.extnValue, ExtendedKeyUsage) : [];
    if (!usages.includes(id_kp_OCSPSigning))
      throw new OcspError(
        `the response is signed by ${cert.subject.replace(/\n/g, ', ')}, not authorized for OCSP`,
      );
    return cert;
  }
  return issuer;
}
