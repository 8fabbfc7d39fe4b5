// Why a TLS client was not let in, in words a person can act on, from Node's handshake error
// codes and OpenSSL's verification codes. One short reason per cause, so they can be counted.

const HANDSHAKE: Record<string, string> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'no certificate',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not TLS (plain MQTT on a TLS port?)',
  ERR_SSL_HTTP_REQUEST: 'not TLS (plain HTTP on a TLS port)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'protocol version',
  ERR_SSL_UNKNOWN_PROTOCOL: 'protocol version',
  ERR_SSL_NO_SHARED_CIPHER: 'no shared cipher',
  ERR_SSL_NO_CIPHERS_AVAILABLE: 'no shared cipher',
  ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM: 'no shared cipher',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'time-out',
  ECONNRESET: 'closed by the client during the handshake',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the client refused our certificate: unknown CA',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the client refused our certificate: bad certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the client refused our certificate: expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'the client refused our certificate',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'protocol version',
};

const VERIFICATION: Record<string, string> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not yet valid',
  CERT_REVOKED: 'revoked',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown CA',
  CERT_SIGNATURE_FAILURE: 'unknown CA',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  INVALID_PURPOSE: 'wrong key usage',
  UNABLE_TO_GET_CRL: 'no CRL for the issuer',
  CRL_HAS_EXPIRED: 'CRL expired',
};

/** An OpenSSL code not in the tables, in words: ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR -> alert "decrypt error". */
function inWords(code: string): string {
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code);
  const words = (text: string) => text.toLowerCase().replaceAll('_', ' ');
  if (alert) return `the client sent the TLS alert "${words(alert[1]!)}"`;
  return words(code.replace(/^ERR_SSL_/, ''));
}

/** A failed handshake ('tlsClientError'), e.g. "protocol version", "time-out". */
export function handshakeFailureReason(error: Error & { code?: string }): string {
  return HANDSHAKE[error.code ?? ''] ?? (error.code ? inWords(error.code) : error.message);
}

/** A client certificate that did not verify (TLSSocket.authorizationError), e.g. "revoked". */
export function verificationFailureReason(error: Error | string | null | undefined): string {
  const code = typeof error === 'string' ? error : ((error as { code?: string } | null)?.code ?? '');
  return VERIFICATION[code] ?? (code ? inWords(code) : 'not verified');
}
