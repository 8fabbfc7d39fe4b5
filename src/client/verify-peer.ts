// Judges the broker after the TLS handshake and before any MQTT byte: the chain (as OpenSSL found
// it against the trusted CAs), the host name, the pins, then the trust provider, each failure in
// words a person can act on and with a stable code.

import { X509Certificate } from 'node:crypto';
import {
  checkServerIdentity,
  type DetailedPeerCertificate,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { ClientError, type ClientErrorCode } from './client-error.js';
import { normalizePin, type PeerInfo, spkiSha256, type TrustOptions } from './trust.js';

const UNKNOWN_CA = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

export interface PeerTarget {
  readonly host: string;
  readonly port: number;
  /** The name checked in the certificate (the SNI override, else the host). */
  readonly checkName: string;
  readonly servername?: string;
}

/** The peer's chain as OpenSSL built it, leaf first (with the trusted root when it reached one). */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** Standard verification: the chain, then the host name. undefined when both hold. */
export function standardVerdict(
  socket: TLSSocket,
  name: string,
  trust: TrustOptions & { readonly psk?: unknown },
): ClientError | undefined {
  const cert = socket.getPeerCertificate();
  // TLS-PSK: the key authenticated the broker; there is no certificate to judge.
  if (cert.raw === undefined && trust.psk) return undefined;
  const who = describe(cert);
  if (!socket.authorized && !trust.skipChainCheck) {
    const error = socket.authorizationError as unknown as { code?: string } | string | null;
    const reason = typeof error === 'string' ? error : (error?.code ?? String(error));
    if (reason === 'CERT_HAS_EXPIRED')
      return fail('ERR_TLS_CERT_EXPIRED', `certificate expired on ${day(cert.valid_to)} (${who})`);
    if (reason === 'CERT_NOT_YET_VALID')
      return fail(
        'ERR_TLS_CERT_NOT_YET_VALID',
        `certificate not valid before ${day(cert.valid_from)} (${who})`,
      );
    if (reason === 'CERT_REVOKED') return fail('ERR_TLS_CERT_REVOKED', `certificate revoked (${who})`);
    if (reason !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
      if (UNKNOWN_CA.has(reason))
        return fail(
          'ERR_TLS_UNKNOWN_CA',
          `unknown CA: ${who} issued by ${issuer(cert)} does not chain to a trusted CA (${reason})`,
        );
      return fail('ERR_TLS_CERT_INVALID', `certificate refused: ${reason} (${who})`);
    }
  }
  // Checked here rather than by Node, which skips it on resumed sessions and with rejectUnauthorized off.
  if (!trust.skipHostnameCheck && checkServerIdentity(name, cert) !== undefined) {
    const names = cert.subjectaltname ? cert.subjectaltname.split(', ') : [];
    return fail('ERR_TLS_HOSTNAME_MISMATCH', `hostname ${name} not in SAN [${names.join(', ')}] (${who})`);
  }
  return undefined;
}

/** The whole judgement of the broker that presented `chain` (peerChain); undefined when trusted. */
export async function verifyPeer(
  socket: TLSSocket,
  chain: readonly X509Certificate[],
  target: PeerTarget,
  trust: TrustOptions & { readonly psk?: unknown },
  timeoutMs: number,
): Promise<ClientError | undefined> {
  const provider =
    typeof trust.trustProvider === 'function' ? { verify: trust.trustProvider } : trust.trustProvider;
  const standard = standardVerdict(socket, target.checkName, trust);
  if (standard && !provider?.replacesVerification) return standard;

  if (trust.pins !== undefined && trust.pins.length > 0) {
    const pins = new Set(trust.pins.map(normalizePin));
    const keys = chain.map(spkiSha256);
    if (!keys.some((key) => pins.has(key)))
      return fail(
        'ERR_TLS_PIN_MISMATCH',
        `no certificate in the chain matches the pinned keys; the broker's SPKI SHA-256 is ${keys[0] ?? 'absent'}`,
      );
  }
  if (provider === undefined) return undefined;

  const peer: PeerInfo = {
    chain,
    servername: target.servername,
    host: target.host,
    port: target.port,
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher().name,
    alpn: socket.alpnProtocol || undefined,
    standard: standard ? { ok: false, reason: standard.message } : { ok: true },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const verdict = await Promise.race([
      provider.verify(peer),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (!verdict.accept)
      return fail('ERR_TLS_TRUST_REFUSED', `trust provider refused the broker: ${verdict.reason}`);
    return undefined;
  } catch (error) {
    return fail('ERR_TLS_TRUST_REFUSED', `trust provider failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function fail(code: ClientErrorCode, message: string): ClientError {
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
