// One telemetry channel's TLS state: its settings, the material in force, the servers serving it
// and the clients connected through it. Reload (file change, SIGHUP, API) validates new material
// first and keeps the old on failure; it swaps the secure context without dropping anyone, then
// disconnects clients a new CRL revokes. A client is also disconnected when its certificate expires.

import type { X509Certificate } from 'node:crypto';
import { createSecureContext, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
// Only the light parts of warden/pki: its CRL and OCSP code loads when a listener uses them.
import type { CrlSummary } from '../../pki/crl.js';
import { normalizedName, normalizedSerial } from '../../pki/names.js';
import { ReasonCode } from '../../protocol/index.js';
import type { TlsConfig } from '../config/config-schema.js';
import { watchFiles } from '../config/watch-files.js';
import { type Clock, type Logger, type PeerIdentity, systemClock, type Timer } from '../core/ports.js';
import { certificateIdentity } from './certificate-identity.js';
import type { OcspStapler } from './ocsp-stapler.js';
import type { ConnectionHandle } from './socket-channel.js';
import { TlsAlert, type TlsAlertCode, verificationAlert } from './tls-alert.js';
import { handshakeFailureReason, verificationFailureReason } from './tls-failure.js';
import {
  type CertificateHealth,
  certificateHealth,
  loadTlsMaterial,
  type TlsMaterial,
} from './tls-material.js';

/** setTimeout's longest delay; a later expiry is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DAY_MS = 86_400_000;

interface Files {
  readonly certFile?: string;
  readonly keyFile?: string;
}

export class TlsChannel {
  /** The listener's URL, for messages; set again once the listener is bound. */
  name: string;
  readonly config: TlsConfig;
  readonly #files: Files;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #reminder?: Timer;
  #material: TlsMaterial;
  readonly #servers: Array<{ server: Server; alpn: string[] }> = [];
  readonly #clients = new Map<ConnectionHandle, { cert: X509Certificate; timer?: Timer }>();
  #unwatch: () => void = () => undefined;
  #stapler?: OcspStapler;
  /** The client certificate of each handshake, parsed once: a parse costs about 120 µs. */
  readonly #peerCertificates = new WeakMap<TLSSocket, X509Certificate | undefined>();
  /** PSK identity each handshake used, known or not (for the identity, or the refusal reason). */
  readonly #pskIdentities = new WeakMap<TLSSocket, { identity: string; known: boolean }>();

  private constructor(
    name: string,
    config: TlsConfig,
    files: Files,
    material: TlsMaterial,
    logger: Logger,
    clock: Clock,
  ) {
    this.name = name;
    this.config = config;
    this.#files = files;
    this.#material = material;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** Loads and checks the channel's files; throws naming the listener and the file. */
  static async open(
    name: string,
    config: TlsConfig,
    files: Files,
    logger: Logger,
    clock: Clock = systemClock,
  ): Promise<TlsChannel> {
    const material = await loadTlsMaterial(name, { ...config, ...files }, new Date(clock.now()));
    for (const warning of material.warnings) logger.warn({ listener: name }, warning);
    for (const error of material.errors) logger.error({ listener: name }, error);
    const channel = new TlsChannel(name, config, files, material, logger, clock);
    await channel.#staple(material);
    channel.#remindDaily();
    return channel;
  }

  /** Where each certificate this listener serves stands now. */
  certificates(): CertificateHealth[] {
    return certificateHealth(this.#material.served, new Date(this.#clock.now()));
  }

  /**
   * Once a day, an out-of-date certificate is logged again as an error (one expiring within 30
   * days as a warning), so it is not lost in a log that was read at start only.
   */
  #remindDaily(): void {
    this.#reminder = this.#clock.setTimeout(() => {
      for (const health of this.certificates()) {
        if (health.status === 'ok') continue;
        const fields = { listener: this.name, file: health.file };
        if (health.status === 'expiring')
          this.#logger.warn(fields, `listener ${this.name}: ${health.problem}`);
        else
          this.#logger.error(
            fields,
            `listener ${this.name}: ${health.problem}; still served until the file is renewed`,
          );
      }
      this.#remindDaily();
    }, DAY_MS);
  }

  /** Starts fetching OCSP answers for the material's certificate; the same certificate and responder: fetches again now. */
  async #staple(material: TlsMaterial): Promise<void> {
    const responder = material.ocspResponder;
    // Loaded first, so that no other reload runs between taking the old stapler and setting the new.
    const stapling = responder && (await import('./ocsp-stapler.js'));
    const current = this.#stapler;
    if (
      current &&
      responder &&
      current.url === responder.url &&
      material.serverCertificate?.raw.equals(current.certificate.raw)
    ) {
      await current.refresh();
      return;
    }
    current?.stop();
    this.#stapler = undefined;
    if (!stapling || material.serverCertificate === undefined) return;
    this.#stapler = new stapling.OcspStapler(
      this,
      responder.url,
      material.serverCertificate,
      responder.issuer,
      this.#logger,
    );
    await this.#stapler.refresh();
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /**
   * Client certificates are verified by OpenSSL but judged in admit(), at the end of the
   * handshake, so each refusal has its precise reason (revoked, expired, unknown CA...) in the log
   * and counts, and the client its alert (tls-listener.ts).
   */
  serverOptions(alpn: string[]): TlsOptions {
    const psk = this.#material.psk;
    return {
      ...this.#material.context,
      requestCert: this.asksForCertificates,
      rejectUnauthorized: false,
      handshakeTimeout: this.config.handshakeTimeoutMs,
      ALPNProtocols: alpn,
      ...(this.#material.sni.length > 0 && { SNICallback: this.#sniCallback() }),
      ...(psk && {
        pskIdentityHint: this.config.pskHint,
        pskCallback: (socket: TLSSocket, identity: string) => {
          // Read the map in force now, so a reloaded psk file applies to the next handshake.
          const key = this.#material.psk?.get(identity);
          this.#pskIdentities.set(socket, { identity, known: key !== undefined });
          return key ?? null;
        },
      }),
    };
  }

  /** Picks the certificate for the SNI name; the listener's own when none matches. */
  #sniCallback(): NonNullable<TlsOptions['SNICallback']> {
    const material = this.#material;
    const contexts = material.sni.map((entry) => ({
      hosts: entry.hosts,
      // Everything but the identity comes from the channel: trust, CRLs, versions, ciphers.
      context: createSecureContext({ ...material.context, ...entry.context }),
    }));
    return (servername, callback) => {
      const name = servername.toLowerCase();
      const found = contexts.find((c) => c.hosts.some((host) => hostMatches(host.toLowerCase(), name)));
      callback(null, found?.context);
    };
  }

  /** Why a handshake failed, knowing what this channel saw of it (an unknown PSK identity). */
  handshakeFailure(socket: TLSSocket, error: Error & { code?: string }): string {
    const psk = this.#pskIdentities.get(socket);
    if (psk && !psk.known) return `unknown PSK identity "${psk.identity}"`;
    if (psk && error.code === 'ERR_SSL_BINDER_DOES_NOT_VERIFY') return 'wrong PSK key';
    return handshakeFailureReason(error);
  }

  /** A server that serves this channel: it gets the new secure context on reload, and staples OCSP. */
  serve(server: Server, alpn: string[]): void {
    this.#servers.push({ server, alpn });
    if (this.config.ocspResponseFile !== undefined || this.config.ocspResponderUrl !== undefined) {
      // Read at each handshake, so a reloaded or refreshed answer is stapled from then on. The
      // answer is about the main certificate: a handshake an SNI certificate serves gets none.
      server.on(
        'OCSPRequest',
        (cert: Buffer, _issuer: Buffer, callback: (error: Error | null, response?: Buffer) => void) => {
          if (!this.#material.serverCertificate?.raw.equals(cert)) return callback(null);
          callback(null, this.#stapler?.current() ?? this.#material.ocspResponse);
        },
      );
    }
  }

  /** The certificate the client presented, if any (parsed once per connection). */
  peerCertificate(socket: TLSSocket): X509Certificate | undefined {
    if (this.#peerCertificates.has(socket)) return this.#peerCertificates.get(socket);
    const cert = this.asksForCertificates ? socket.getPeerX509Certificate() : undefined;
    this.#peerCertificates.set(socket, cert);
    return cert;
  }

  /** Whether the listener asks clients for certificates (optional or required). */
  get asksForCertificates(): boolean {
    return this.config.clientCertificates !== 'none';
  }

  /**
   * Whether a peer that completed the handshake comes in, and with which identity; a refusal
   * names its reason and the TLS alert that tells the client (OpenSSL's choice for the same case).
   */
  admit(socket: TLSSocket): { identity?: PeerIdentity } | { refused: string; alert: TlsAlertCode } {
    const config = this.config;
    const psk = this.#pskIdentities.get(socket);
    if (psk?.known) {
      return {
        identity: {
          source: 'psk',
          subject: `psk:${psk.identity}`,
          username: psk.identity,
          requireClientIdMatch: false,
        },
      };
    }
    if (config.clientCertificates === 'none') return {};
    const cert = this.peerCertificate(socket);
    if (cert === undefined)
      return config.clientCertificates === 'required'
        ? { refused: 'no certificate', alert: TlsAlert.certificateRequired }
        : {};
    if (!socket.authorized) {
      // OpenSSL checks CRLs before signatures: a chain from a same-name foreign CA fails first on
      // "no CRL for its issuer". Name the real cause.
      const error = socket.authorizationError as { code?: string } | string | null;
      const code = typeof error === 'string' ? error : error?.code;
      if (code === 'UNABLE_TO_GET_CRL' && !reachesTrust(cert, this.#material.trusted))
        return { refused: 'unknown CA', alert: TlsAlert.unknownCa };
      return {
        refused: verificationFailureReason(socket.authorizationError),
        alert: verificationAlert(code),
      };
    }
    // A resumed session carries its first handshake's verification: a certificate that has
    // expired since is refused here.
    if (new Date(cert.validTo).getTime() <= this.#clock.now())
      return { refused: 'expired', alert: TlsAlert.certificateExpired };
    const revocation = config.crlCheck === 'leaf' ? leafRevocation(cert, this.#material.crls) : undefined;
    if (revocation !== undefined) return revocation;
    if (config.verifyDepth !== undefined && intermediates(cert) > config.verifyDepth)
      return { refused: 'certificate chain too long', alert: verificationAlert('CERT_CHAIN_TOO_LONG') };
    const mapped = certificateIdentity(cert, config);
    // A certificate that verified but does not satisfy the listener's identity rule (RFC 8446
    // 6.2: "access control was applied").
    return 'refused' in mapped ? { ...mapped, alert: TlsAlert.accessDenied } : { identity: mapped.identity };
  }

  /** The last reload: when, and its result (the admin API shows it). */
  lastReload?: { at: string; ok: boolean; error?: string };

  /** Whether OCSP answers are stapled: "off", "stapled", or "no answer yet". */
  ocspStatus(): string {
    if (this.config.ocspResponseFile === undefined && this.config.ocspResponderUrl === undefined)
      return 'off';
    return (this.#stapler?.current() ?? this.#material.ocspResponse) ? 'stapled' : 'no answer yet';
  }

  /** Connected clients whose certificate expires within `ms` from now. */
  clientCertificatesExpiring(ms: number): number {
    const limit = this.#clock.now() + ms;
    let count = 0;
    for (const { cert } of this.#clients.values()) if (new Date(cert.validTo).getTime() <= limit) count++;
    return count;
  }

  /** Follows a connected client with a certificate: revocation on reload, its expiry. */
  track(handle: ConnectionHandle, socket: TLSSocket): void {
    const cert = this.peerCertificate(socket);
    if (cert === undefined || !socket.authorized) return;
    const entry: { cert: X509Certificate; timer?: Timer } = { cert };
    this.#clients.set(handle, entry);
    const arm = () => {
      const left = new Date(cert.validTo).getTime() - this.#clock.now();
      entry.timer = this.#clock.setTimeout(
        () => (left > MAX_TIMER_MS ? arm() : this.#drop(handle, 'client certificate expired')),
        Math.max(0, Math.min(left, MAX_TIMER_MS)),
      );
    };
    arm();
    socket.once('close', () => {
      entry.timer?.cancel();
      this.#clients.delete(handle);
    });
  }

  /** Re-reads the files; on success new handshakes use them and revoked clients are disconnected. */
  async reload(): Promise<{ ok: true; revoked: number } | { ok: false; error: string }> {
    let material: TlsMaterial;
    try {
      material = await loadTlsMaterial(
        this.name,
        { ...this.config, ...this.#files },
        new Date(this.#clock.now()),
      );
    } catch (error) {
      const message = (error as Error).message;
      this.#logger.error(
        { listener: this.name, error: message },
        'TLS reload failed; the old certificate and trust stay',
      );
      this.lastReload = { at: new Date(this.#clock.now()).toISOString(), ok: false, error: message };
      return { ok: false, error: message };
    }
    this.#material = material;
    for (const { server, alpn } of this.#servers) server.setSecureContext(this.serverOptions(alpn));
    await this.#staple(material);
    for (const warning of material.warnings) this.#logger.warn({ listener: this.name }, warning);
    for (const error of material.errors) this.#logger.error({ listener: this.name }, error);
    const revoked = this.#disconnectRevoked(material);
    this.#logger.info({ listener: this.name, revoked }, 'TLS material reloaded');
    this.lastReload = { at: new Date(this.#clock.now()).toISOString(), ok: true };
    return { ok: true, revoked };
  }

  /** Reloads when any of the channel's files changes, or a file in its CA directory. */
  watch(): void {
    const paths = [
      this.#files.certFile,
      this.#files.keyFile,
      this.config.caFile,
      this.config.pskFile,
      this.config.ocspResponseFile,
      ...this.config.sni.flatMap((entry) => [entry.certFile, entry.keyFile]),
      this.config.pfxFile,
      this.config.passphraseFile,
      this.config.dhparamFile,
      ...this.config.crlFiles,
    ];
    const watching = watchFiles(
      paths.filter((p): p is string => p !== undefined),
      this.config.caPath === undefined ? [] : [this.config.caPath],
      () => void this.reload(),
    );
    this.#unwatch = watching.close;
    for (const path of watching.unwatched)
      this.#logger.warn({ listener: this.name, path }, 'cannot watch a TLS file; reload with SIGHUP');
  }

  close(): void {
    this.#reminder?.cancel();
    this.#stapler?.stop();
    this.#unwatch();
    for (const entry of this.#clients.values()) entry.timer?.cancel();
    this.#clients.clear();
  }

  #disconnectRevoked(material: TlsMaterial): number {
    const crls = material.crls;
    let count = 0;
    for (const [handle, { cert }] of this.#clients) {
      const issuer = normalizedName(cert.issuer);
      const serial = normalizedSerial(cert.serialNumber);
      if (crls.some((crl) => crl.issuer === issuer && crl.revokedSerialNumbers.has(serial))) {
        this.#drop(handle, 'client certificate revoked');
        count++;
      }
    }
    return count;
  }

  #drop(handle: ConnectionHandle, reason: string): void {
    const entry = this.#clients.get(handle);
    entry?.timer?.cancel();
    this.#clients.delete(handle);
    this.#logger.info(
      { listener: this.name, subject: entry?.cert.subject.replace(/\n/g, ', '), reason },
      'disconnecting a TLS client',
    );
    handle.disconnect(ReasonCode.NotAuthorized, reason);
  }
}

/**
 * Mosquitto's rule (X509_V_FLAG_CRL_CHECK): the leaf against the CRL of its issuer. With CRLs
 * configured, an issuer without one is refused, as OpenSSL does; several CRLs of one issuer add up.
 */
function leafRevocation(
  cert: X509Certificate,
  crls: readonly CrlSummary[],
): { refused: string; alert: TlsAlertCode } | undefined {
  if (crls.length === 0) return undefined;
  const issuer = normalizedName(cert.issuer);
  const own = crls.filter((crl) => crl.issuer === issuer);
  if (own.length === 0)
    return { refused: 'no CRL for the issuer', alert: verificationAlert('UNABLE_TO_GET_CRL') };
  const serial = normalizedSerial(cert.serialNumber);
  if (own.some((crl) => crl.revokedSerialNumbers.has(serial)))
    return { refused: 'revoked', alert: verificationAlert('CERT_REVOKED') };
  const now = Date.now();
  if (own.every((crl) => crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now))
    return { refused: 'CRL expired', alert: verificationAlert('CRL_HAS_EXPIRED') };
  return undefined;
}

/** Intermediate CAs above a verified peer certificate: its issuers that are not a self-signed root. */
function intermediates(cert: X509Certificate): number {
  let count = 0;
  for (let c = cert.issuerCertificate; c !== undefined && count < 100; c = c.issuerCertificate) {
    if (c.checkIssued(c)) break; // a root
    count++;
    if (c.issuerCertificate?.fingerprint256 === c.fingerprint256) break;
  }
  return count;
}

/** "broker.example.com" matches itself; "*.example.com" matches one more level. */
function hostMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === name;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/** Whether the chain the peer sent is signed link by link up to one of the trusted CAs. */
function reachesTrust(cert: X509Certificate, trusted: readonly X509Certificate[]): boolean {
  let current: X509Certificate | undefined = cert;
  for (let depth = 0; current !== undefined && depth < 10; depth++) {
    const link: X509Certificate = current;
    if (trusted.some((ca) => link.checkIssued(ca) && link.verify(ca.publicKey))) return true;
    const issuer: X509Certificate | undefined = link.issuerCertificate;
    if (issuer === undefined || issuer === link || !link.verify(issuer.publicKey)) return false;
    current = issuer;
  }
  return false;
}
