// What the client trusts, chosen explicitly: CA bundles (file, directory, PEM), the system store,
// or both; SPKI SHA-256 pins; an async trust provider. Turns the choice into TLS options, and
// names the choices that weaken verification so the caller can warn about them.

import { createHash, type X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { readPkcs12 } from '../pki/pkcs12.js';

/** What the trust provider sees of the peer, after the handshake and before any MQTT byte. */
export interface PeerInfo {
  /** The chain as verification built it, leaf first, up to the trusted root when one was reached. */
  readonly chain: readonly X509Certificate[];
  /** The SNI name sent, if any. */
  readonly servername?: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: string;
  readonly cipher: string;
  readonly alpn?: string;
  /** Standard verification's verdict (chain and host name), whether or not it is enforced. */
  readonly standard: { readonly ok: true } | { readonly ok: false; readonly reason: string };
}

export type TrustVerdict = { readonly accept: true } | { readonly accept: false; readonly reason: string };

export interface TrustProvider {
  verify(peer: PeerInfo): Promise<TrustVerdict>;
  /** When true the provider's verdict replaces standard verification instead of adding to it. */
  readonly replacesVerification?: boolean;
}

export interface TrustOptions {
  /** CA certificates as PEM (text or bytes), one or several. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** A PEM bundle file of CA certificates (mosquitto's --cafile). */
  readonly caFile?: string;
  /** A directory of PEM CA files (mosquitto's --capath). */
  readonly caPath?: string;
  /**
   * CRL files (PEM) checked against the broker's chain: a revoked certificate fails with
   * ERR_TLS_CERT_REVOKED. OpenSSL then wants a CRL from every CA of the chain.
   */
  readonly crlFiles?: readonly string[];
  /** A PKCS#12 trust store (a file path, or its bytes): its certificates are trusted CAs. */
  readonly trustStore?: { readonly pkcs12: string | Uint8Array; readonly passphrase?: string };
  /**
   * The operating system's CA store. Default: used only when no CA is given; true with a CA
   * trusts both (mosquitto's --tls-use-os-certs).
   */
  readonly systemStore?: boolean;
  /** SPKI SHA-256 pins, base64 or hex ("sha256/" prefix allowed): some certificate of the chain must match. */
  readonly pins?: readonly string[];
  readonly trustProvider?: TrustProvider | TrustProvider['verify'];
  /** Skips the host name check only (the chain is still verified). Warned about. */
  readonly skipHostnameCheck?: boolean;
  /** Skips the chain check only (the host name is still checked). Warned about. */
  readonly skipChainCheck?: boolean;
}

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/cert.pem', // macOS, BSD
];

/** Whether the OS store is trusted: when asked, or when no CA source is given at all. */
export function usesSystemStore(trust: TrustOptions): boolean {
  return (
    trust.systemStore ??
    (trust.ca === undefined &&
      trust.caFile === undefined &&
      trust.caPath === undefined &&
      trust.trustStore === undefined)
  );
}

/** The trust sources in force, in words ("CA file x + the system store + pins"). */
export function trustSources(trust: TrustOptions): string {
  const { trustStore } = trust;
  const parts = [
    trust.caFile && `CA file ${trust.caFile}`,
    trust.caPath && `CA directory ${trust.caPath}`,
    trust.ca !== undefined && 'given CA certificates',
    trustStore &&
      `trust store ${typeof trustStore.pkcs12 === 'string' ? trustStore.pkcs12 : '(PKCS#12 bytes)'}`,
    usesSystemStore(trust) && 'the system store',
    trust.crlFiles?.length && `CRLs ${trust.crlFiles.join(', ')}`,
    trust.pins?.length && 'pins',
    trust.trustProvider && 'the trust provider',
  ].filter(Boolean);
  return parts.join(' + ') || 'nothing';
}

/** The CRLs to hand to tls.connect, read from crlFiles. */
export function trustedCrls(trust: TrustOptions): string[] | undefined {
  if (trust.crlFiles === undefined || trust.crlFiles.length === 0) return undefined;
  return trust.crlFiles.map((file) => {
    const text = readPemFile(file, 'CRL file');
    if (!/-----BEGIN (X509 )?CRL-----/.test(text)) throw new Error(`CRL file ${file}: no PEM CRL in it`);
    return text;
  });
}

/** The CA certificates to hand to tls.connect. */
export async function trustedCas(trust: TrustOptions): Promise<string[]> {
  const given: string[] = [];
  const ca = trust.ca;
  for (const item of ca === undefined ? [] : Array.isArray(ca) ? ca : [ca])
    given.push(typeof item === 'string' ? item : item.toString('utf8'));
  if (trust.caFile !== undefined) given.push(readCaFile(trust.caFile));
  if (trust.caPath !== undefined) {
    const names = readdirSync(trust.caPath)
      .filter((n) => /\.(pem|crt|cer)$/i.test(n))
      .sort();
    for (const name of names) given.push(readCaFile(join(trust.caPath, name)));
  }
  if (trust.trustStore !== undefined) given.push(...(await readTrustStore(trust.trustStore)));
  return usesSystemStore(trust) ? [...systemCas(), ...given] : given;
}

async function readTrustStore(store: NonNullable<TrustOptions['trustStore']>): Promise<string[]> {
  const name = typeof store.pkcs12 === 'string' ? store.pkcs12 : 'PKCS#12 bytes';
  try {
    const data = typeof store.pkcs12 === 'string' ? readFileSync(store.pkcs12) : store.pkcs12;
    const { certificatesPem } = await readPkcs12(data, store.passphrase);
    if (certificatesPem.length === 0) throw new Error('no certificate in it');
    return [...certificatesPem];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`trust store ${name}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

/** The OS store: SSL_CERT_FILE, else the distribution's bundle, else Node's bundled Mozilla roots. */
export function systemCas(): string[] {
  const file = process.env.SSL_CERT_FILE ?? SYSTEM_BUNDLES.find((path) => existsSync(path));
  return file === undefined ? [...rootCertificates] : [readCaFile(file)];
}

function readPemFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${what} ${file}: ${code === 'ENOENT' ? 'no such file' : String(error)}`);
  }
}

function readCaFile(file: string): string {
  const text = readPemFile(file, 'CA file');
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`CA file ${file}: no PEM certificate in it`);
  return text;
}

/** SPKI SHA-256 of a certificate's public key, base64 (the form of HPKP and curl's --pinnedpubkey). */
export function spkiSha256(certificate: X509Certificate): string {
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** A pin in any accepted spelling, as base64. */
export function normalizePin(pin: string): string {
  const bare = pin.replace(/^sha256\//i, '').trim();
  return /^[0-9a-f]{64}$/i.test(bare) ? Buffer.from(bare, 'hex').toString('base64') : bare;
}

/** The weakening choices in force, in words, for the caller to warn about. */
export function trustWarnings(trust: TrustOptions): string[] {
  const warnings: string[] = [];
  if (trust.skipChainCheck)
    warnings.push("the broker's certificate chain is NOT verified: anyone can impersonate the broker");
  if (trust.skipHostnameCheck) warnings.push("the broker's host name is NOT checked against its certificate");
  const provider = trust.trustProvider;
  if (provider !== undefined && typeof provider !== 'function' && provider.replacesVerification)
    warnings.push('standard verification is replaced by the trust provider');
  return warnings;
}
