// MQTT over TLS (mqtts) on a telemetry channel's TLS settings, and the guard every TLS server
// (mqtts, wss) runs under: admission after the handshake, and each refused handshake logged once
// with address, SNI and the reason in words, and counted by reason.

import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { PeerIdentity } from '../core/ports.js';
import { bindServer } from './bind-server.js';
import { recordRefusal } from './record-refusal.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';
import type { TlsChannel } from './tls-channel.js';

export interface TlsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsChannel;
}

/**
 * Puts a TLS server under its channel's rules: a peer that completes the handshake is admitted
 * (`admitted` gets its identity) or refused; a handshake that fails inside TLS (protocol version,
 * time-out, no certificate...) is refused too. Every refusal is recorded once and the socket closed.
 */
export function guardTlsServer(
  server: Server,
  where: { readonly url: string },
  channel: TlsChannel,
  options: SocketChannelOptions,
  admitted: (socket: TLSSocket, identity: PeerIdentity | undefined) => void,
): void {
  // The peer's address, kept from the TCP connection: a socket reset during the handshake no
  // longer knows it (it read "undefined:undefined").
  const addresses = new WeakMap<object, string>();
  server.on('connection', (raw: Socket) => addresses.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
  const remoteOf = (socket: TLSSocket) =>
    socket.remoteAddress !== undefined
      ? `${socket.remoteAddress}:${socket.remotePort}`
      : (addresses.get((socket as TLSSocket & { _parent?: object })._parent ?? socket) ?? 'unknown');
  const refuse = (socket: TLSSocket, reason: string, code?: string) => {
    const remote = remoteOf(socket);
    const sni = socket.servername || undefined;
    recordRefusal(options.stats, options.logger, { listener: where.url, remote, sni, code }, reason);
    // Node leaves a socket whose handshake timed out open; the refusal ends it.
    socket.destroy();
  };
  server.on('secureConnection', (socket: TLSSocket) => {
    const verdict = channel.admit(socket);
    if ('refused' in verdict) refuse(socket, verdict.refused);
    else admitted(socket, verdict.identity);
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) =>
    refuse(socket, channel.handshakeFailure(socket, error), error.code),
  );
}

export async function listenTls(options: TlsListenerOptions, accept: Accept): Promise<RunningListener> {
  const where = { url: `mqtts://${options.host}:${options.port}` };
  const channel = options.tls;
  const server = createServer(channel.serverOptions(['mqtt']));
  channel.serve(server, ['mqtt']);
  guardTlsServer(server, where, channel, options, (socket, identity) => {
    socket.setNoDelay(options.tcpNoDelay);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    channel.track(attachSocket(socket, remote, accept, options, identity), socket);
  });
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
