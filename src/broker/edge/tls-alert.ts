// The TLS alert a refused client reads, and the record that carries it. Node's TLS server has no
// verification callback (OpenSSL is told to accept every chain and the result is read after the
// handshake), so OpenSSL never sends these alerts itself; the broker writes the record OpenSSL
// would have written, at the point the handshake is judged:
// - TLS 1.2: before the server's ChangeCipherSpec, so the alert is plaintext, as OpenSSL's is;
// - TLS 1.3: after the server's Finished, encrypted under the server's application traffic
//   secret (RFC 8446 7.1, 5.2), at the sequence number of the records sent so far.

import { createCipheriv, createHmac } from 'node:crypto';

/** RFC 8446 6.2 / RFC 5246 7.2 alert descriptions. */
export const TlsAlert = {
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
  unknownCa: 48,
  accessDenied: 49,
  decryptError: 51,
  internalError: 80,
  certificateRequired: 116,
} as const;
export type TlsAlertCode = (typeof TlsAlert)[keyof typeof TlsAlert];

/** The alert's name as OpenSSL clients print it ("tlsv1 alert unknown ca"). */
export function alertName(code: TlsAlertCode): string {
  const entry = Object.entries(TlsAlert).find(([, value]) => value === code);
  return (entry?.[0] ?? 'alert').replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

/**
 * OpenSSL's own choice for each verification failure (ssl_x509err2alert in ssl/statem), keyed
 * by the code Node reports (X509_V_ERR_ without the prefix). Anything else: bad_certificate.
 */
const VERIFY_ALERTS: Record<string, TlsAlertCode> = {
  CERT_HAS_EXPIRED: TlsAlert.certificateExpired,
  CRL_HAS_EXPIRED: TlsAlert.certificateExpired,
  CERT_REVOKED: TlsAlert.certificateRevoked,
  CERT_SIGNATURE_FAILURE: TlsAlert.decryptError,
  CRL_SIGNATURE_FAILURE: TlsAlert.decryptError,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: TlsAlert.decryptError,
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: TlsAlert.decryptError,
  CERT_CHAIN_TOO_LONG: TlsAlert.unknownCa,
  DEPTH_ZERO_SELF_SIGNED_CERT: TlsAlert.unknownCa,
  SELF_SIGNED_CERT_IN_CHAIN: TlsAlert.unknownCa,
  INVALID_CA: TlsAlert.unknownCa,
  PATH_LENGTH_EXCEEDED: TlsAlert.unknownCa,
  UNABLE_TO_GET_CRL: TlsAlert.unknownCa,
  UNABLE_TO_GET_CRL_ISSUER: TlsAlert.unknownCa,
  UNABLE_TO_GET_ISSUER_CERT: TlsAlert.unknownCa,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: TlsAlert.unknownCa,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: TlsAlert.unknownCa,
  INVALID_PURPOSE: TlsAlert.unsupportedCertificate,
  APPLICATION_VERIFICATION: TlsAlert.handshakeFailure,
  OUT_OF_MEM: TlsAlert.internalError,
  UNSPECIFIED: TlsAlert.internalError,
};

export function verificationAlert(code: string | undefined): TlsAlertCode {
  return VERIFY_ALERTS[code ?? ''] ?? TlsAlert.badCertificate;
}

const FATAL = 2;
const ALERT_RECORD = 0x15;
const APPLICATION_DATA_RECORD = 0x17;

/** A TLS 1.2 alert record in the clear, as sent before ChangeCipherSpec. */
export function plaintextAlert(code: TlsAlertCode): Buffer {
  return Buffer.from([ALERT_RECORD, 3, 3, 0, 2, FATAL, code]);
}

/** The TLS 1.3 cipher suites OpenSSL offers, by IANA name (getCipher().standardName). */
const TLS13_SUITES: Record<string, { hash: string; cipher: string; keyLength: number; tagLength: number }> = {
  TLS_AES_128_GCM_SHA256: { hash: 'sha256', cipher: 'aes-128-gcm', keyLength: 16, tagLength: 16 },
  TLS_AES_256_GCM_SHA384: { hash: 'sha384', cipher: 'aes-256-gcm', keyLength: 32, tagLength: 16 },
  TLS_CHACHA20_POLY1305_SHA256: { hash: 'sha256', cipher: 'chacha20-poly1305', keyLength: 32, tagLength: 16 },
  TLS_AES_128_CCM_SHA256: { hash: 'sha256', cipher: 'aes-128-ccm', keyLength: 16, tagLength: 16 },
  TLS_AES_128_CCM_8_SHA256: { hash: 'sha256', cipher: 'aes-128-ccm', keyLength: 16, tagLength: 8 },
};

/**
 * The alert as a TLS 1.3 record protected with `trafficSecret` (the server's application
 * traffic secret), the `sequence`-th record under it. Undefined for a suite not known here.
 */
export function encryptedAlert(
  suite: string,
  trafficSecret: Buffer,
  sequence: number,
  code: TlsAlertCode,
): Buffer | undefined {
  const params = TLS13_SUITES[suite];
  if (params === undefined) return undefined;
  const key = expandLabel(params.hash, trafficSecret, 'key', params.keyLength);
  const nonce = expandLabel(params.hash, trafficSecret, 'iv', 12);
  // The per-record nonce: the IV XOR the 64-bit sequence number, right-aligned (RFC 8446 5.3).
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(sequence));
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= seq[i]!;
  // TLSInnerPlaintext: the alert, then its real content type.
  const inner = Buffer.from([FATAL, code, ALERT_RECORD]);
  const length = inner.length + params.tagLength;
  const header = Buffer.from([APPLICATION_DATA_RECORD, 3, 3, length >> 8, length & 0xff]);
  const cipher = createCipheriv(params.cipher as 'aes-128-gcm', key, nonce, {
    authTagLength: params.tagLength,
  });
  cipher.setAAD(header, { plaintextLength: inner.length });
  const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]);
}

/** HKDF-Expand-Label (RFC 8446 7.1) with an empty context. */
function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, full.length]),
    full,
    Buffer.from([0]),
  ]);
  // HKDF-Expand (RFC 5869 2.3); node's hkdf always extracts first, which TLS 1.3 does not want here.
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1, total = 0; total < length; i++) {
    previous = createHmac(hash, secret)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    blocks.push(previous);
    total += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}
