// Judges the broker's certificate after the TLS handshake and before any MQTT byte: chain (as
// OpenSSL found it against the trusted CAs) and host name, in words a person can act on.

import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { ClientError } from './client-error.js';

const UNKNOWN_CA = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** The failure, or undefined when the certificate is trusted and names `host`. */
export function verifyPeer(socket: TLSSocket, host: string): ClientError | undefined {
  const cert = socket.getPeerCertificate();
  const who = describe(cert);
  if (!socket.authorized) {
    const code = (socket.authorizationError as unknown as { code?: string } | string | null) ?? 'UNKNOWN';
    const reason = typeof code === 'string' ? code : (code.code ?? String(code));
    if (reason === 'CERT_HAS_EXPIRED') {
      return fail('ERR_TLS_CERT_EXPIRED', `certificate expired on ${day(cert.valid_to)} (${who})`);
    }
    if (reason === 'CERT_NOT_YET_VALID') {
      return fail(
        'ERR_TLS_CERT_NOT_YET_VALID',
        `certificate not valid before ${day(cert.valid_from)} (${who})`,
      );
    }
    if (reason === 'CERT_REVOKED') return fail('ERR_TLS_CERT_REVOKED', `certificate revoked (${who})`);
    // Node checks the host name itself once the chain is good, and reports it here.
    if (reason === 'ERR_TLS_CERT_ALTNAME_INVALID') return hostnameMismatch(host, cert, who);
    if (UNKNOWN_CA.has(reason)) {
      return fail(
        'ERR_TLS_UNKNOWN_CA',
        `unknown CA: ${who} issued by ${issuer(cert)} does not chain to a trusted CA (${reason})`,
      );
    }
    return fail('ERR_TLS_CERT_INVALID', `certificate refused: ${reason} (${who})`);
  }
  // A resumed session skips Node's own check; ask again.
  if (checkServerIdentity(host, cert)) return hostnameMismatch(host, cert, who);
  return undefined;
}

function hostnameMismatch(host: string, cert: PeerCertificate, who: string): ClientError {
  const names = cert.subjectaltname ? cert.subjectaltname.split(', ') : [];
  return fail('ERR_TLS_HOSTNAME_MISMATCH', `hostname ${host} not in SAN [${names.join(', ')}] (${who})`);
}

function fail(code: ConstructorParameters<typeof ClientError>[0], message: string): ClientError {
  return new ClientError(code, 'tls-handshaking', message);
}

function describe(cert: PeerCertificate): string {
  return cert.subject?.CN ? `CN=${cert.subject.CN}` : 'no subject CN';
}

function issuer(cert: PeerCertificate): string {
  return cert.issuer?.CN ? `CN=${cert.issuer.CN}` : 'an unnamed issuer';
}

/** "Nov 24 22:10:11 2026 GMT" -> "2026-11-24". */
function day(openSslDate: string): string {
  const date = new Date(openSslDate);
  return Number.isNaN(date.getTime()) ? openSslDate : date.toISOString().slice(0, 10);
}
