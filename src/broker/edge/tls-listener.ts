// MQTT over TLS (mqtts): the TLS server options of a telemetry channel, the decision to let a
// handshaken peer in (and as whom), and the record of every refused handshake: logged once
// with address, SNI and the reason in words, and counted by reason. wss uses the same pieces.

import type { X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import type { TlsConfig } from '../config/config-schema.js';
import type { BrokerStats } from '../core/broker-stats.js';
import type { Logger, PeerIdentity } from '../core/ports.js';
import { bindServer } from './bind-server.js';
import { certificateIdentity } from './certificate-identity.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';
import { handshakeFailureReason, verificationFailureReason } from './tls-failure.js';
import type { TlsMaterial } from './tls-material.js';

export interface TlsChannel {
  readonly config: TlsConfig;
  readonly material: TlsMaterial;
}

export interface TlsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsChannel;
}

/**
 * Client certificates are verified by OpenSSL but judged here, after the handshake, so each
 * refusal has its precise reason (revoked, expired, unknown CA...) in the log and the counts.
 */
export function tlsServerOptions(channel: TlsChannel, alpn: string[]): TlsOptions {
  return {
    ...channel.material.context,
    requestCert: channel.config.clientCertificates !== 'none',
    rejectUnauthorized: false,
    handshakeTimeout: channel.config.handshakeTimeoutMs,
    ALPNProtocols: alpn,
  };
}

/** Whether a peer that completed the handshake comes in, and with which identity. */
export function admitTlsPeer(
  socket: TLSSocket,
  channel: TlsChannel,
): { identity?: PeerIdentity } | { refused: string } {
  const config = channel.config;
  if (config.clientCertificates === 'none') return {};
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined)
    return config.clientCertificates === 'required' ? { refused: 'no certificate' } : {};
  if (!socket.authorized) {
    // OpenSSL checks CRLs before signatures: a chain from a same-name foreign CA fails first on
    // "no CRL for its issuer". Name the real cause.
    const code =
      (socket.authorizationError as { code?: string } | null)?.code ?? String(socket.authorizationError);
    if (code === 'UNABLE_TO_GET_CRL' && !reachesTrust(cert, channel.material.trusted))
      return { refused: 'unknown CA' };
    return { refused: verificationFailureReason(socket.authorizationError) };
  }
  const mapped = certificateIdentity(cert, config);
  return 'refused' in mapped ? mapped : { identity: mapped.identity };
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

/** Counts and logs (once) a connection refused before MQTT. */
export function recordRefusal(
  stats: Pick<BrokerStats, 'handshakeFailures'>,
  logger: Logger,
  fields: { listener: string; remote: string; sni?: string; code?: string },
  reason: string,
): void {
  stats.handshakeFailures[reason] = (stats.handshakeFailures[reason] ?? 0) + 1;
  logger.warn({ ...fields, reason }, `TLS client refused: ${reason}`);
}

/** Logs and counts handshakes that failed inside TLS (protocol version, time-out, no certificate...). */
export function watchHandshakeFailures(
  server: Server,
  where: { readonly url: string },
  options: SocketChannelOptions,
): void {
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    recordRefusal(
      options.stats,
      options.logger,
      {
        listener: where.url,
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
        sni: socket.servername || undefined,
        code: error.code,
      },
      handshakeFailureReason(error),
    );
    // Node leaves a socket whose handshake timed out open; the refusal ends it.
    socket.destroy();
  });
}

export async function listenTls(options: TlsListenerOptions, accept: Accept): Promise<RunningListener> {
  const where = { url: `mqtts://${options.host}:${options.port}` };
  const server = createServer(tlsServerOptions(options.tls, ['mqtt']));
  server.on('secureConnection', (socket: TLSSocket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const verdict = admitTlsPeer(socket, options.tls);
    if ('refused' in verdict) {
      const sni = socket.servername || undefined;
      recordRefusal(options.stats, options.logger, { listener: where.url, remote, sni }, verdict.refused);
      socket.destroy();
      return;
    }
    socket.setNoDelay(options.tcpNoDelay);
    attachSocket(socket, remote, accept, options, verdict.identity);
  });
  watchHandshakeFailures(server, where, options);
  const port = await bindServer(server, options.host, options.port, where.url);
  where.url = `mqtts://${options.host}:${port}`;
  return {
    protocol: 'mqtts',
    host: options.host,
    port,
    url: where.url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
