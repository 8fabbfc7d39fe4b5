// A TLS listener's files read and checked before it listens: the server chain and its key, the
// trust for client certificates (bundle and/or directory), CRLs. Every failure names the listener
// and the file; an expired server certificate is an error (served, or with refuseExpiredCertificate
// the start stops), one expiring soon is a warning.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls';
// warden/pki's CRL and OCSP code (and the ASN.1 packages under it) loads only for a listener
// that has CRLs or OCSP stapling: most brokers never need its megabytes of heap.
import type { CrlSummary } from '../../pki/crl.js';
import { normalizedName } from '../../pki/names.js';
import type { TlsConfig } from '../config/config-schema.js';

const DAY = 86_400_000;

export interface TlsMaterial {
  readonly context: SecureContextOptions;
  /** Absent on a PSK-only listener. */
  readonly serverCertificate?: X509Certificate;
  /** Other server certificates by SNI host name: the same settings, another chain and key. */
  readonly sni: ReadonlyArray<{ readonly hosts: readonly string[]; readonly context: SecureContextOptions }>;
  /** The DER OCSP response to staple (from ocspResponseFile). */
  readonly ocspResponse?: Buffer;
  /** Where to fetch OCSP answers about the server certificate, and the issuer they name (ocspResponderUrl). */
  readonly ocspResponder?: { readonly url: string; readonly issuer: X509Certificate };
  /** PSK identity -> key, from the psk file. */
  readonly psk?: ReadonlyMap<string, Buffer>;
  /** The CAs client certificates are verified against. */
  readonly trusted: readonly X509Certificate[];
  /** The CRLs of crlFiles, read; with crlCheck leaf the broker applies them, not OpenSSL. */
  readonly crls: readonly CrlSummary[];
  /** Things to tell the operator at startup, e.g. the certificate expires within 30 days. */
  readonly warnings: readonly string[];
  /** What is wrong but served anyway, logged as errors: an expired server certificate. */
  readonly errors: readonly string[];
  /** Every certificate the listener presents (its own, then the SNI ones), with its file. */
  readonly served: readonly ServedCertificate[];
}

export interface ServedCertificate {
  readonly file: string;
  readonly certificate: X509Certificate;
}

export class TlsMaterialError extends Error {
  readonly code = 'ERR_TLS_MATERIAL';
}

/** The TLS files of a listener ('mqtts://host:port'): a certificate and key and/or a PSK file, trust, CRLs. */
export async function loadTlsMaterial(
  listener: string,
  tls: TlsConfig,
  now = new Date(),
): Promise<TlsMaterial> {
  const fail = (message: string): never => {
    throw new TlsMaterialError(`listener ${listener}: ${message}`);
  };
  const read = async (what: string, file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
      return fail(`${what} ${file}: ${why}`);
    }
  };

  const warnings: string[] = [];
  let identity: Awaited<ReturnType<typeof serverIdentity>> | undefined;
  let pkcs12: { pfx: Buffer; passphrase?: string; server: X509Certificate } | undefined;
  if (tls.pfxFile !== undefined) {
    pkcs12 = await pkcs12Identity({ ...tls, pfxFile: tls.pfxFile }, read, fail);
  } else if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    identity = await serverIdentity(tls.certFile, tls.keyFile, read, fail);
  } else if (tls.pskFile === undefined && !tls.anonymousCiphers) {
    fail('neither a certificate nor a PSK file');
  }
  const errors: string[] = [];
  // An out-of-date certificate is an error to fix, not a reason to take every listener down:
  // the listener serves it (clients that verify will refuse it) until the renewed file appears.
  const outOfDate = tls.refuseExpiredCertificate
    ? fail
    : (problem: string) =>
        void errors.push(
          `listener ${listener}: ${problem}; serving it anyway until the file is renewed (refuseExpiredCertificate: true stops the start instead)`,
        );
  const server = identity?.server ?? pkcs12?.server;
  const served: ServedCertificate[] = [];
  if (server !== undefined) served.push({ file: (tls.certFile ?? tls.pfxFile)!, certificate: server });
  if (tls.anonymousCiphers)
    warnings.push(
      `listener ${listener}: ANONYMOUS CIPHER SUITES ARE ON: traffic is encrypted but the broker is not authenticated; anyone in the middle can read and change it`,
    );
  const psk =
    tls.pskFile === undefined
      ? undefined
      : parsePskFile(await read('PSK file', tls.pskFile), tls.pskFile, fail);

  const ca: string[] = [];
  if (tls.caFile !== undefined)
    ca.push(...checkedCertificates(await read('CA file', tls.caFile), tls.caFile, fail));
  if (tls.caPath !== undefined) {
    let names: string[];
    try {
      names = (await readdir(tls.caPath)).filter((n) => /\.(pem|crt|cer)$/i.test(n)).sort();
    } catch (error) {
      return fail(`CA directory ${tls.caPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    for (const name of names) {
      const file = join(tls.caPath, name);
      ca.push(...checkedCertificates(await read('CA file', file), file, fail));
    }
  }
  if (tls.clientCertificates !== 'none' && ca.length === 0)
    fail(`client certificates are ${tls.clientCertificates} but no caFile or caPath gives the CAs to trust`);
  const crl: string[] = [];
  for (const file of tls.crlFiles) {
    // Node reads one CRL per entry, so a file holding several (one per CA) is split.
    const blocks = pemBlocks(await read('CRL file', file), 'X509 CRL');
    if (blocks.length === 0) fail(`CRL file ${file}: no PEM CRL in it`);
    crl.push(...blocks);
  }

  let dhparam: string | undefined;
  if (tls.dhparamFile !== undefined) {
    dhparam = await read('DH parameters file', tls.dhparamFile);
    if (pemBlocks(dhparam, '(?:X9\\.42 )?DH PARAMETERS').length === 0)
      fail(
        `DH parameters file ${tls.dhparamFile}: no PEM "DH PARAMETERS" in it (make one with openssl dhparam -out dhparam.pem 2048)`,
      );
  }

  const sni = [];
  for (const entry of tls.sni) {
    const other = await serverIdentity(entry.certFile, entry.keyFile, read, fail);
    served.push({ file: entry.certFile, certificate: other.server });
    sni.push({ hosts: entry.hosts, context: { cert: other.certPem, key: other.keyPem } });
  }

  for (const health of certificateHealth(served, now)) {
    if (health.status === 'ok') continue;
    if (health.status === 'expiring') warnings.push(`listener ${listener}: ${health.problem}`);
    else outOfDate(health.problem);
  }

  const trusted = ca.map((pem) => new X509Certificate(pem));
  // OCSP answers name the certificate by its issuer: it must be in the chain or the trusted CAs.
  const ocsp = tls.ocspResponderUrl !== undefined || tls.ocspResponseFile !== undefined;
  const issuer =
    ocsp && server
      ? [...(identity?.chain.slice(1) ?? []), ...trusted].find(
          (candidate) => server.checkIssued(candidate) && server.verify(candidate.publicKey),
        )
      : undefined;
  let ocspResponder: TlsMaterial['ocspResponder'];
  // Set whenever an OCSP setting is (ocsp above).
  const ocspCode = ocsp ? await import('../../pki/ocsp.js') : undefined;
  if (tls.ocspResponderUrl !== undefined && ocspCode) {
    const url =
      tls.ocspResponderUrl !== 'certificate'
        ? tls.ocspResponderUrl
        : server && ocspCode.ocspResponderUrls(server)[0];
    if (server === undefined) return fail('ocspResponderUrl needs a server certificate');
    if (url === undefined)
      return fail('ocspResponderUrl is "certificate" but the server certificate names no OCSP responder');
    if (issuer === undefined)
      return fail(
        'OCSP stapling needs the issuer of the server certificate: put it after the certificate in certFile, or in caFile',
      );
    ocspResponder = { url, issuer };
  }

  let ocspResponse: Buffer | undefined;
  if (tls.ocspResponseFile !== undefined) {
    try {
      ocspResponse = await readFile(tls.ocspResponseFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      fail(
        `OCSP response file ${tls.ocspResponseFile}: ${code === 'ENOENT' ? 'no such file' : String(error)}`,
      );
    }
    // An OCSPResponse is a DER SEQUENCE; a PEM or text file here would be stapled as garbage.
    if (ocspResponse?.[0] !== 0x30)
      fail(`OCSP response file ${tls.ocspResponseFile}: not a DER OCSP response`);
    // With the issuer at hand the answer is checked: about this certificate, signed, not stale.
    if (server && issuer && ocspResponse && ocspCode) {
      try {
        const answer = ocspCode.readOcspResponse(ocspResponse, server, issuer, now);
        if (answer.status !== 'good')
          warnings.push(
            `listener ${listener}: OCSP response file ${tls.ocspResponseFile} says the server certificate is ${answer.status}`,
          );
      } catch (error) {
        fail(`OCSP response file ${tls.ocspResponseFile}: ${(error as Error).message}`);
      }
    }
  }

  return {
    sni,
    ocspResponse,
    ocspResponder,
    context: {
      cert: identity?.certPem,
      key: identity?.keyPem,
      pfx: pkcs12?.pfx,
      passphrase: pkcs12?.passphrase,
      ca: ca.length > 0 ? ca : undefined,
      // Given to OpenSSL only to check the whole chain: Node then asks a CRL of every CA in it.
      crl: crl.length > 0 && tls.crlCheck === 'chain' ? crl : undefined,
      minVersion: tls.minVersion,
      ecdhCurve: tls.ecdhCurves,
      dhparam,
      ciphers: cipherList(tls, psk !== undefined),
      // Anonymous suites exist in TLS 1.2 only: an anonymous-only listener stops there.
      maxVersion:
        tls.anonymousCiphers && identity === undefined && pkcs12 === undefined && psk === undefined
          ? 'TLSv1.2'
          : undefined,
    },
    serverCertificate: server,
    psk,
    trusted,
    crls: await Promise.all(crl.map((pem) => checkedCrl(pem, trusted, fail))),
    warnings,
    errors,
    served,
  };
}

/** The server's chain and key: parsed, matched, in their validity period. */
async function serverIdentity(
  certFile: string,
  keyFile: string,
  read: (what: string, file: string) => Promise<string>,
  fail: (message: string) => never,
): Promise<{ certPem: string; keyPem: string; server: X509Certificate; chain: X509Certificate[] }> {
  const certPem = await read('certificate file', certFile);
  const chain = pemBlocks(certPem, 'CERTIFICATE');
  if (chain.length === 0) fail(`certificate file ${certFile}: no PEM certificate in it`);
  const certificates = chain.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (error) {
      return fail(
        `certificate file ${certFile}: certificate ${i + 1} does not parse: ${(error as Error).message}`,
      );
    }
  });
  const server = certificates[0]!;
  const keyPem = await read('key file', keyFile);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    return fail(`key file ${keyFile}: not a usable private key: ${(error as Error).message}`);
  }
  if (!server.checkPrivateKey(key))
    fail(
      `key file ${keyFile} does not match the certificate in ${certFile} (${server.subject.replace(/\n/g, ', ')})`,
    );

  return { certPem, keyPem, server, chain: certificates };
}

export interface CertificateHealth {
  readonly file: string;
  readonly certificate: X509Certificate;
  /** expired and notYetValid are errors (served, or the start stops); expiring: within 30 days. */
  readonly status: 'ok' | 'expiring' | 'expired' | 'notYetValid';
  readonly problem: string;
}

/** Where each served certificate stands at `now`: checked at load, and again every day while served. */
export function certificateHealth(served: readonly ServedCertificate[], now: Date): CertificateHealth[] {
  return served.map(({ file, certificate }) => {
    const notAfter = new Date(certificate.validTo);
    const notBefore = new Date(certificate.validFrom);
    const at = (status: CertificateHealth['status'], problem: string) => ({
      file,
      certificate,
      status,
      problem,
    });
    if (notAfter <= now) return at('expired', `certificate ${file} expired on ${notAfter.toISOString()}`);
    if (notBefore > now)
      return at('notYetValid', `certificate ${file} is not valid before ${notBefore.toISOString()}`);
    const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY);
    if (daysLeft < 30)
      return at('expiring', `certificate ${file} expires in ${daysLeft} days (${notAfter.toISOString()})`);
    return at('ok', '');
  });
}

/** A PKCS#12 server identity: its passphrase from a file or an environment variable, checked by opening it. */
async function pkcs12Identity(
  tls: TlsConfig & { pfxFile: string },
  read: (what: string, file: string) => Promise<string>,
  fail: (message: string) => never,
): Promise<{ pfx: Buffer; passphrase?: string; server: X509Certificate }> {
  let pfx: Buffer;
  try {
    pfx = await readFile(tls.pfxFile);
  } catch (error) {
    return fail(
      `PKCS#12 file ${tls.pfxFile}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`,
    );
  }
  let passphrase: string | undefined;
  if (tls.passphraseFile !== undefined)
    passphrase = (await read('passphrase file', tls.passphraseFile)).replace(/\r?\n$/, '');
  if (tls.passphraseEnv !== undefined) {
    passphrase = process.env[tls.passphraseEnv];
    if (passphrase === undefined)
      fail(`PKCS#12 file ${tls.pfxFile}: environment variable ${tls.passphraseEnv} is not set`);
  }
  let der: Buffer | undefined;
  try {
    const context = createSecureContext({ pfx, passphrase }).context as {
      getCertificate?: () => Buffer | null;
    };
    der = context.getCertificate?.() ?? undefined;
  } catch (error) {
    const message = (error as Error).message;
    return fail(
      /mac verify failure|bad decrypt/i.test(message)
        ? `PKCS#12 file ${tls.pfxFile}: wrong passphrase`
        : `PKCS#12 file ${tls.pfxFile}: ${message}`,
    );
  }
  if (der === undefined) return fail(`PKCS#12 file ${tls.pfxFile}: no certificate with a key in it`);
  const server = new X509Certificate(der);
  return { pfx, passphrase, server };
}

/** Mosquitto's psk_file: one "identity:hexkey" per line; # starts a comment. */
function parsePskFile(text: string, file: string, fail: (message: string) => never): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.lastIndexOf(':');
    const identity = line.slice(0, colon);
    const hex = line.slice(colon + 1);
    if (colon <= 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0)
      fail(`PSK file ${file}:${index + 1}: expected "identity:hexkey"`);
    keys.set(identity, Buffer.from(hex, 'hex'));
  }
  if (keys.size === 0) fail(`PSK file ${file}: no identity in it`);
  return keys;
}

function pemBlocks(text: string, label: string): string[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return text.match(pattern) ?? [];
}

function checkedCertificates(text: string, file: string, fail: (message: string) => never): string[] {
  const blocks = pemBlocks(text, 'CERTIFICATE');
  if (blocks.length === 0) fail(`CA file ${file}: no PEM certificate in it`);
  for (const [i, pem] of blocks.entries()) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      fail(`CA file ${file}: certificate ${i + 1} does not parse: ${(error as Error).message}`);
    }
  }
  return blocks;
}

/**
 * Node takes TLS 1.2 ciphers and TLS 1.3 suites in one list, and a list without 1.3 suites turns
 * TLS 1.3 off; so each part not configured keeps Node's default.
 */
function cipherList(tls: TlsConfig, psk: boolean): string | undefined {
  if (tls.ciphers === undefined && tls.ciphersTls13 === undefined && !psk && !tls.anonymousCiphers)
    return undefined;
  const defaults = DEFAULT_CIPHERS.split(':');
  const v13 = tls.ciphersTls13 ?? defaults.filter((c) => c.startsWith('TLS_')).join(':');
  // Node's defaults end in exclusions ("!PSK", "!aNULL") that no later addition can undo: lift the
  // ones this channel asked for. TLS 1.2 PSK suites are not in the defaults; TLS 1.3 PSK uses the
  // ordinary suites. OpenSSL 3 allows aNULL only at security level 0.
  const lifted = new Set([...(psk ? ['!PSK'] : []), ...(tls.anonymousCiphers ? ['!aNULL'] : [])]);
  const v12 = (tls.ciphers ?? defaults.filter((c) => !c.startsWith('TLS_')).join(':'))
    .split(':')
    .filter((c) => !lifted.has(c));
  const extra = [
    ...(psk ? ['PSK-AES128-GCM-SHA256', 'PSK-AES256-GCM-SHA384', 'PSK-CHACHA20-POLY1305'] : []),
    ...(tls.anonymousCiphers ? ['aNULL', '@SECLEVEL=0'] : []),
  ];
  return [v13, ...extra, ...v12].join(':');
}

/**
 * A CRL read, its signature checked against the trusted CA of its issuer's name when that CA is
 * in caFile/caPath. An intermediate that only its clients present cannot be checked here: its
 * CRL is taken as the operator gave it (as the CA files are).
 */
async function checkedCrl(
  pem: string,
  trusted: readonly X509Certificate[],
  fail: (message: string) => never,
): Promise<CrlSummary> {
  const { readCrl, crlSignedBy } = await import('../../pki/crl.js');
  const summary = readCrl(pem);
  const issuers = trusted.filter((ca) => normalizedName(ca.subject) === summary.issuer);
  if (issuers.length === 0) return summary;
  for (const ca of issuers) if (await crlSignedBy(pem, ca.raw)) return summary;
  return fail(`CRL of ${summary.issuer}: its signature does not verify against that CA in caFile/caPath`);
}
