// MQTT over WebSocket: an HTTP(S) server upgrading path /mqtt with subprotocol "mqtt" (MQTT 5.0
// section 6); each WebSocket becomes a byte stream for the same socket channel as TCP. With TLS
// (wss) the channel's TLS settings, client certificates and identities work as on mqtts.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { PeerIdentity, PeerTls } from '../core/ports.js';
import { bindServer } from './bind-server.js';
import { gateConnections, STARTS_PER_TURN } from './connection-gate.js';
import { proxiedServer } from './proxied-server.js';
import { ProxiedStream } from './proxied-stream.js';
import type { ProxyOptions } from './proxy-accept.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';
import type { TlsChannel } from './tls-channel.js';
import { guardTlsServer, peerTls } from './tls-listener.js';

export interface WsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Present: wss. */
  readonly tls?: TlsChannel;
  /** Behind a load balancer: a PROXY header before the HTTP request (or the TLS handshake). */
  readonly proxy?: ProxyOptions;
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
  // Identities and addresses of admitted TLS peers, from the handshake until their WebSocket upgrade.
  const admitted = new WeakMap<TLSSocket, { identity?: PeerIdentity; remote: string; tls: PeerTls }>();
  let front: import('node:net').Server = http;
  const proxy = options.proxy;
  if (proxy && !tls)
    front = proxiedServer(proxy, where, options, (raw, remote) =>
      http.emit('connection', new ProxiedStream(raw, remote)),
    );
  if (tls) {
    const server = http as unknown as import('node:tls').Server;
    tls.serve(server, ['http/1.1']);
    front = guardTlsServer(server, where, tls, options, (socket, identity, remote) => {
      socket.setNoDelay(options.tcpNoDelay);
      admitted.set(socket, { identity, remote, tls: peerTls(socket, tls) });
    });
  }
  const wss = new WebSocketServer({
    server: http,
    path: options.path,
    maxPayload: options.maxPacketSize,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (ws, request) => {
    // Refused TLS peers were closed by the guard before any upgrade.
    const socket = request.socket as TLSSocket;
    const peer = admitted.get(socket);
    if (!peer) request.socket.setNoDelay(options.tcpNoDelay);
    const remote = peer?.remote ?? `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    const handle = attachSocket(
      createWebSocketStream(ws),
      remote,
      accept,
      options,
      peer?.identity,
      peer?.tls,
    );
    tls?.track(handle, socket);
  });
  const listening = gateConnections(
    front,
    options.connectionLimits,
    where,
    options,
    options.tls ? STARTS_PER_TURN.tls : STARTS_PER_TURN.tcp,
  );
  const port = await bindServer(listening, options.host, options.port, where.url);
  where.url = `${scheme}://${options.host}:${port}${options.path}`;
  return {
    protocol: scheme,
    host: options.host,
    port,
    url: where.url,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // The HTTP(S) server never listens (the connection gate does): closing it only ends its sockets.
      http.closeIdleConnections();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    },
  };
}
