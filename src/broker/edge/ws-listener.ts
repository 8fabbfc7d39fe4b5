// MQTT over WebSocket: an HTTP server upgrading path /mqtt with subprotocol "mqtt" (MQTT 5.0
// section 6); each WebSocket becomes a byte stream for the same socket channel as TCP.

import { createServer } from 'node:http';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { bindServer } from './bind-server.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';
import type { RunningListener } from './tcp-listener.js';

export interface WsListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

/** "mqtt" per the spec; "mqttv3.1" for older Paho clients. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export async function listenWs(options: WsListenerOptions, accept: Accept): Promise<RunningListener> {
  const http = createServer((_request, response) => {
    response
      .writeHead(426, { 'content-type': 'text/plain' })
      .end(`MQTT over WebSocket: upgrade at ${options.path}\n`);
  });
  const wss = new WebSocketServer({
    server: http,
    path: options.path,
    maxPayload: options.maxPacketSize,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (ws, request) => {
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    request.socket.setNoDelay(options.tcpNoDelay);
    attachSocket(createWebSocketStream(ws), remote, accept, options);
  });
  const port = await bindServer(
    http,
    options.host,
    options.port,
    `ws://${options.host}:${options.port}${options.path}`,
  );
  return {
    protocol: 'ws',
    host: options.host,
    port,
    url: `ws://${options.host}:${port}${options.path}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
