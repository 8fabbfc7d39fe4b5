// Plain MQTT over TCP: accepts sockets and hands each to a socket channel.

import { createServer, type Server } from 'node:net';
import type { Logger } from '../core/ports.js';
import { type Accept, attachSocket } from './socket-channel.js';

export interface TcpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxPacketSize: number;
  readonly logger: Logger;
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
    socket.setNoDelay(true);
    attachSocket(socket, `${socket.remoteAddress}:${socket.remotePort}`, accept, {
      maxPacketSize: options.maxPacketSize,
      logger: options.logger,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(`listener mqtt://${options.host}:${options.port}: ${error.code ?? ''} ${error.message}`),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
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
