// Plain MQTT over TCP: accepts sockets and hands each to a socket channel.

import { createServer, type Server } from 'node:net';
import { bindServer } from './bind-server.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';

export interface TcpListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
}

export interface RunningListener {
  readonly protocol: 'mqtt' | 'ws';
  readonly host: string;
  readonly port: number;
  /** mqtt://host:port or ws://host:port/path */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenTcp(options: TcpListenerOptions, accept: Accept): Promise<RunningListener> {
  const server: Server = createServer((socket) => {
    socket.setNoDelay(options.tcpNoDelay);
    attachSocket(socket, `${socket.remoteAddress}:${socket.remotePort}`, accept, options);
  });
  const port = await bindServer(server, options.host, options.port, `mqtt://${options.host}:${options.port}`);
  return {
    protocol: 'mqtt',
    host: options.host,
    port,
    url: `mqtt://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
