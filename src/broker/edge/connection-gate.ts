// The first thing a TCP connection meets on any listener: the listener's limits on connections
// that have not finished CONNECT yet (TLS handshake included), and on connections from one
// address. A refused socket is closed before any byte is read, so a slowloris or a flood of
// handshakes costs the broker a file descriptor for an instant, not a TLS session or a decoder.

import { createServer, type Server, type Socket } from 'node:net';
import { recordRefusal } from './record-refusal.js';

export interface ConnectionLimits {
  /** Connections not yet past CONNACK (the TLS handshake, the CONNECT, its authentication). */
  readonly maxPending: number;
  /** Open connections from one IP address. */
  readonly maxPerAddress: number;
  /** Clients of this listener past CONNACK (the core's count). */
  readonly connected: () => number;
}

/**
 * The server to listen on in front of `inner`: each admitted socket is handed to `inner` as its
 * 'connection'. Without limits, `inner` itself.
 */
export function gateConnections(
  inner: Server,
  limits: ConnectionLimits | undefined,
  where: { readonly url: string },
  /** Where refusals are counted and logged (the listener's channel options). */
  options: Parameters<typeof recordRefusal>[0],
): Server {
  if (limits === undefined || (limits.maxPending === Infinity && limits.maxPerAddress === Infinity))
    return inner;
  let open = 0;
  const perAddress = new Map<string, number>();
  const refuse = (socket: Socket, reason: string) => {
    recordRefusal(
      options,
      { listener: where.url, remote: `${socket.remoteAddress}:${socket.remotePort}` },
      reason,
    );
    socket.destroy();
  };
  return createServer((socket) => {
    const address = socket.remoteAddress ?? '';
    const fromHere = perAddress.get(address) ?? 0;
    if (open - limits.connected() >= limits.maxPending)
      return refuse(socket, `more than ${limits.maxPending} connections are not past CONNECT yet`);
    if (fromHere >= limits.maxPerAddress)
      return refuse(socket, `more than ${limits.maxPerAddress} connections from one address`);
    open++;
    perAddress.set(address, fromHere + 1);
    socket.once('close', () => {
      open--;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n === 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    inner.emit('connection', socket);
  });
}
