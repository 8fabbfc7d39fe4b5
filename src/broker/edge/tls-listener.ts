// MQTT over TLS (mqtts) on a telemetry channel's TLS settings, and the record of every refused
// handshake: logged once with address, SNI and the reason in words, and counted by reason. wss
// uses the same record.

import { createServer, type Server, type TLSSocket } from 'node:tls';
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

/** Logs and counts handshakes that failed inside TLS (protocol version, time-out, no certificate...). */
export function watchHandshakeFailures(
  server: Server,
  where: { readonly url: string },
  channel: TlsChannel,
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
      channel.handshakeFailure(socket, error),
    );
    // Node leaves a socket whose handshake timed out open; the refusal ends it.
    socket.destroy();
  });
}

export async function listenTls(options: TlsListenerOptions, accept: Accept): Promise<RunningListener> {
  const where = { url: `mqtts://${options.host}:${options.port}` };
  const channel = options.tls;
  const server = createServer(channel.serverOptions(['mqtt']));
  channel.serve(server, ['mqtt']);
  server.on('secureConnection', (socket: TLSSocket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const verdict = channel.admit(socket);
    if ('refused' in verdict) {
      const sni = socket.servername || undefined;
      recordRefusal(options.stats, options.logger, { listener: where.url, remote, sni }, verdict.refused);
      socket.destroy();
      return;
    }
    socket.setNoDelay(options.tcpNoDelay);
    channel.track(attachSocket(socket, remote, accept, options, verdict.identity), socket);
  });
  watchHandshakeFailures(server, where, channel, options);
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
