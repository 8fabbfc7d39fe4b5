// MQTT over WebSocket: an HTTP(S) server upgrading path /mqtt with subprotocol "mqtt" (MQTT 5.0
// section 6); each WebSocket becomes a byte stream for the same socket channel as TCP. With TLS
// (wss) the channel's TLS settings, client certificates and identities work as on mqtts.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { bindServer } from './bind-server.js';
import { recordRefusal } from './record-refusal.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';
import type { TlsChannel } from './tls-channel.js';
import { watchHandshakeFailures } from './tls-listener.js';

export interface WsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Present: wss. */
  readonly tls?: TlsChannel;
}

/** "mqtt" per the spec; "mqttv3.1" for older Paho clients. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export async function listenWs(options: WsListenerOptions, accept: Accept): Promise<RunningListener> {
  const scheme = options.tls ? 'wss' : 'ws';
  const where = { url: `${scheme}://${options.host}:${options.port}${options.path}` };
  const upgradeOnly = (_request: unknown, response: import('node:http').ServerResponse) => {
    response
      .writeHead(426, { 'content-type': 'text/plain' })
      .end(`MQTT over WebSocket: upgrade at ${options.path}\n`);
  };
  const tls = options.tls;
  // Browsers offer ALPN http/1.1 only: a wss listener must not insist on "mqtt".
  const http = tls
    ? createHttpsServer(tls.serverOptions(['http/1.1']), upgradeOnly)
    : createHttpServer(upgradeOnly);
  if (tls) {
    tls.serve(http as unknown as import('node:tls').Server, ['http/1.1']);
    http.on('secureConnection', (socket: TLSSocket) => {
      const verdict = tls.admit(socket);
      if (!('refused' in verdict)) return;
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      recordRefusal(
        options.stats,
        options.logger,
        { listener: where.url, remote, sni: socket.servername || undefined },
        verdict.refused,
      );
      socket.destroy();
    });
    watchHandshakeFailures(http as unknown as import('node:tls').Server, where, tls, options);
  }
  const wss = new WebSocketServer({
    server: http,
    path: options.path,
    maxPayload: options.maxPacketSize,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (ws, request) => {
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    request.socket.setNoDelay(options.tcpNoDelay);
    // Refused peers were destroyed at secureConnection; this reads the identity of the others.
    const verdict = tls ? tls.admit(request.socket as TLSSocket) : {};
    if ('refused' in verdict) {
      ws.terminate();
      return;
    }
    const handle = attachSocket(createWebSocketStream(ws), remote, accept, options, verdict.identity);
    tls?.track(handle, request.socket as TLSSocket);
  });
  const port = await bindServer(http, options.host, options.port, where.url);
  where.url = `${scheme}://${options.host}:${port}${options.path}`;
  return {
    protocol: scheme,
    host: options.host,
    port,
    url: where.url,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
