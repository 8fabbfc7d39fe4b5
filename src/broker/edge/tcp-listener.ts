// Plain MQTT over TCP: accepts sockets and hands each to a socket channel.

import { createServer, type Server } from 'node:net';
import { bindServer } from './bind-server.js';
import { gateConnections, STARTS_PER_TURN } from './connection-gate.js';
import { proxiedServer } from './proxied-server.js';
import type { ProxyOptions } from './proxy-accept.js';
import { recordRefusal } from './record-refusal.js';
import { type Accept, attachSocket, type SocketChannelOptions } from './socket-channel.js';

export interface TcpListenerOptions extends SocketChannelOptions {
  readonly host: string;
  readonly port: number;
  /** Behind a load balancer: every connection starts with a PROXY protocol header. */
  readonly proxy?: ProxyOptions;
}

export interface RunningListener {
  readonly protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
  /** mqtt://host:port, mqtts://host:port, ws://host:port/path or wss://host:port/path */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenTcp(options: TcpListenerOptions, accept: Accept): Promise<RunningListener> {
  const where = { url: `mqtt://${options.host}:${options.port}` };
  const server: Server = options.proxy
    ? proxiedServer(options.proxy, where, options, (socket, remote, identity) => {
        attachSocket(socket, remote, accept, options, identity);
        socket.resume();
      })
    : createServer((socket) => {
        socket.setNoDelay(options.tcpNoDelay);
        const remote = `${socket.remoteAddress}:${socket.remotePort}`;
        // A TLS ClientHello (0x16 0x03) on a plain port is reported as such, not as a malformed CONNECT.
        socket.once('data', (chunk: Buffer) => {
          if (chunk[0] !== 0x16 || chunk[1] !== 0x03) return;
          recordRefusal(options, { listener: where.url, remote }, 'TLS on a plain MQTT port');
          socket.destroy();
        });
        attachSocket(socket, remote, accept, options);
      });
  const listening = gateConnections(server, options.connectionLimits, where, options, STARTS_PER_TURN.tcp);
  const port = await bindServer(listening, options.host, options.port, where.url);
  where.url = `mqtt://${options.host}:${port}`;
  return {
    protocol: 'mqtt',
    host: options.host,
    port,
    url: where.url,
    close: () =>
      new Promise<void>((resolve) => {
        listening.close(() => resolve());
      }),
  };
}
