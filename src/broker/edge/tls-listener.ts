// MQTT over TLS (mqtts) on a telemetry channel's TLS settings, and the guard every TLS server
// (mqtts, wss) runs under: admission after the handshake, a refused client told why with the TLS
// alert OpenSSL would send, and each refused handshake logged once with address, SNI and the
// reason in words, and counted by reason.

import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { PeerIdentity, PeerTls } from '../core/ports.js';
import { AlertGate, gateOf } from './alert-gate.js';
import { bindServer } from './bind-server.js';
import { gateConnections, STARTS_PER_TURN } from './connection-gate.js';
import { proxiedServer } from './proxied-server.js';
import type { ProxyOptions } from './proxy-accept.js';
import { recordRefusal } from './record-refusal.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';
import { alertName, encryptedAlert, plaintextAlert, TlsAlert, type TlsAlertCode } from './tls-alert.js';
import type { TlsChannel } from './tls-channel.js';
import { traces } from './trace-channels.js';

export interface TlsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsChannel;
  /** Behind a load balancer that passes TLS through: a PROXY header before each handshake. */
  readonly proxy?: ProxyOptions;
}

const TRAFFIC_SECRET = 'SERVER_TRAFFIC_SECRET_0 ';

/**
 * Puts a TLS server under its channel's rules: a peer that completes the handshake is admitted
 * (`admitted` gets its identity and address) or refused; a handshake that fails inside TLS
 * (protocol version, time-out...) is refused too. Every refusal is recorded once and the socket
 * closed. Returns the server to listen on: on a channel that asks for client certificates, a TCP
 * server that hands each connection to `server` through an AlertGate.
 */
export function guardTlsServer(
  server: Server,
  where: { readonly url: string },
  channel: TlsChannel,
  options: SocketChannelOptions & { readonly proxy?: ProxyOptions },
  admitted: (socket: TLSSocket, identity: PeerIdentity | undefined, remote: string) => void,
): NetServer {
  // The peer's address and when it connected, kept from the TCP connection: a socket reset
  // during the handshake no longer knows its address (it read "undefined:undefined").
  const accepted = new WeakMap<object, { remote: string; at: number }>();
  server.on('connection', (raw: Socket | AlertGate) =>
    accepted.set(raw, {
      remote: raw instanceof AlertGate ? raw.remote : `${raw.remoteAddress}:${raw.remotePort}`,
      at: performance.now(),
    }),
  );
  const connectionOf = (socket: TLSSocket) =>
    accepted.get(gateOf(socket) ?? (socket as TLSSocket & { _parent?: object })._parent ?? socket);
  const remoteOf = (socket: TLSSocket) =>
    connectionOf(socket)?.remote ??
    (socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown');
  const refuse = (socket: TLSSocket, reason: string, code?: string, alert?: string) => {
    const remote = remoteOf(socket);
    const sni = socket.servername || undefined;
    const protocol = socket.getProtocol() ?? undefined;
    const fields = { listener: where.url, remote, sni, protocol, code, alert };
    recordRefusal(options, fields, reason);
    if (traces.tlsHandshake.hasSubscribers)
      traces.tlsHandshake.publish({ listener: where.url, remote, admitted: false, reason, alert, protocol });
    // Node leaves a socket whose handshake timed out open; the refusal ends it.
    socket.destroy();
  };
  server.on('secureConnection', (socket: TLSSocket) => {
    const verdict = channel.admit(socket);
    // Judged before Node sends what OpenSSL wrote last: the alert can still replace it.
    if ('refused' in verdict) refuse(socket, verdict.refused, undefined, tellRefused(socket, verdict.alert));
    else {
      gateOf(socket)?.settle();
      const since = connectionOf(socket)?.at;
      const stats = options.stats;
      stats.tlsHandshakes[where.url] = (stats.tlsHandshakes[where.url] ?? 0) + 1;
      if (since !== undefined) options.observer?.tlsHandshake(where.url, (performance.now() - since) / 1000);
      if (traces.tlsHandshake.hasSubscribers)
        traces.tlsHandshake.publish({
          listener: where.url,
          remote: remoteOf(socket),
          admitted: true,
          protocol: socket.getProtocol(),
        });
      admitted(socket, verdict.identity, remoteOf(socket));
    }
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) =>
    refuse(socket, channel.handshakeFailure(socket, error), error.code),
  );
  if (!channel.asksForCertificates && options.proxy === undefined) return server;
  // The one TLS 1.3 secret an alert needs; kept on the gate until the handshake is judged.
  server.on('keylog', (line: Buffer, socket: TLSSocket) => {
    const text = line.toString('latin1');
    const gate = gateOf(socket);
    if (gate && text.startsWith(TRAFFIC_SECRET))
      gate.trafficSecret = Buffer.from(text.trim().split(' ')[2] ?? '', 'hex');
  });
  const proxy = options.proxy;
  if (proxy === undefined)
    return createNetServer((raw) => {
      raw.setNoDelay(options.tcpNoDelay);
      server.emit('connection', new AlertGate(raw));
    });
  // Behind a load balancer passing TLS through: the PROXY header comes before the ClientHello.
  // The gate is a JavaScript stream, so TLS reads what follows the header from it.
  return proxiedServer(proxy, where, options, (raw, remote) =>
    server.emit('connection', new AlertGate(raw, remote)),
  );
}

/** The TLS session of an admitted client, as the admin API shows it. */
export function peerTls(socket: TLSSocket, channel: TlsChannel): PeerTls {
  const cert = socket.authorized ? channel.peerCertificate(socket) : undefined;
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher().standardName,
    ...(cert && {
      certificate: {
        subject: cert.subject.split('\n').join(', '),
        issuer: cert.issuer.split('\n').join(', '),
        notAfter: new Date(cert.validTo).toISOString(),
      },
    }),
  };
}

/**
 * Sends the client the alert, if its connection allows one; returns what it was told, for the
 * log. TLS 1.2: plaintext, before the server's ChangeCipherSpec (held back by the gate). A resumed
 * TLS 1.2 session sent its ChangeCipherSpec before the client finished, so it gets no alert.
 */
function tellRefused(socket: TLSSocket, alert: TlsAlertCode | undefined): string | undefined {
  const gate = gateOf(socket);
  if (gate === undefined || alert === undefined) return undefined;
  if (socket.getProtocol() === 'TLSv1.3') {
    const secret = gate.trafficSecret;
    const suite = socket.getCipher().standardName;
    const record = secret && encryptedAlert(suite, secret, gate.sentEncrypted, alert);
    gate.refuse(record);
    return record ? alertName(alert) : `none (cipher suite ${suite} not known to the alert writer)`;
  }
  if (socket.isSessionReused()) {
    gate.refuse(undefined);
    return 'none (a resumed TLS 1.2 session is encrypted before it can be judged)';
  }
  // certificate_required exists from TLS 1.3 on; OpenSSL sends handshake_failure before it.
  const code = alert === TlsAlert.certificateRequired ? TlsAlert.handshakeFailure : alert;
  gate.refuse(plaintextAlert(code));
  return alertName(code);
}

export async function listenTls(options: TlsListenerOptions, accept: Accept): Promise<RunningListener> {
  const where = { url: `mqtts://${options.host}:${options.port}` };
  const channel = options.tls;
  const server = createServer(channel.serverOptions(['mqtt']));
  channel.serve(server, ['mqtt']);
  const front = guardTlsServer(server, where, channel, options, (socket, identity, remote) => {
    socket.setNoDelay(options.tcpNoDelay);
    channel.track(attachSocket(socket, remote, accept, options, identity, peerTls(socket, channel)), socket);
  });
  const listening = gateConnections(front, options.connectionLimits, where, options, STARTS_PER_TURN.tls);
  const port = await bindServer(listening, options.host, options.port, where.url);
  where.url = `mqtts://${options.host}:${port}`;
  return {
    protocol: 'mqtts',
    host: options.host,
    port,
    url: where.url,
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}
