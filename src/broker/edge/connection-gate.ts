// The first thing a TCP connection meets on any listener: the listener's limits on connections
// that have not finished CONNECT yet (TLS handshake included), and on connections from one
// address, then the pace at which new connections go on to the listener. A refused socket is
// closed before any byte is read, so a slowloris or a flood of handshakes costs the broker a file
// descriptor for an instant, not a TLS session or a decoder.

import { createServer, type Server, type Socket } from 'node:net';
import { recordRefusal } from './record-refusal.js';
import { TurnPacer } from './turn-pacer.js';

export interface ConnectionLimits {
  /** Connections not yet past CONNACK (the TLS handshake, the CONNECT, its authentication). */
  readonly maxPending: number;
  /** Open connections from one IP address. */
  readonly maxPerAddress: number;
  /** Clients of this listener past CONNACK (the core's count). */
  readonly connected: () => number;
}

/**
 * New connections a listener starts per turn of the event loop, by what starting one costs: a TLS
 * handshake's first step (key exchange and signature) is about a millisecond of CPU, and its
 * second as much again when the client presents a certificate; a plain connection costs a tenth.
 */
export const STARTS_PER_TURN = { tcp: 8, tls: 1 } as const;

/**
 * The server to listen on in front of `inner`: each admitted socket is handed to `inner` as its
 * 'connection', `perTurn` at most per turn of the event loop.
 */
export function gateConnections(
  inner: Server,
  limits: ConnectionLimits | undefined,
  where: { readonly url: string },
  /** Where refusals are counted and logged (the listener's channel options). */
  options: Parameters<typeof recordRefusal>[0],
  perTurn: number,
): Server {
  const maxPending = limits?.maxPending ?? Number.POSITIVE_INFINITY;
  const maxPerAddress = limits?.maxPerAddress ?? Number.POSITIVE_INFINITY;
  const connected = limits?.connected ?? (() => 0);
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
  // Paused until started: whatever a waiting connection sends stays in the kernel. Without the
  // pacer a burst of connections (a handshake flood, a fleet reconnecting after an outage) starts
  // all its handshakes in one poll of the loop, and every connected client waits for all of them.
  const pacer = new TurnPacer<Socket>(perTurn, (socket) => {
    if (socket.destroyed) return false;
    socket.resume();
    inner.emit('connection', socket);
    return true;
  });
  return createServer({ pauseOnConnect: true }, (socket) => {
    const address = socket.remoteAddress ?? '';
    const fromHere = perAddress.get(address) ?? 0;
    if (open - connected() >= maxPending)
      return refuse(socket, `more than ${maxPending} connections are not past CONNECT yet`);
    if (fromHere >= maxPerAddress)
      return refuse(socket, `more than ${maxPerAddress} connections from one address`);
    open++;
    perAddress.set(address, fromHere + 1);
    socket.once('close', () => {
      open--;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n === 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    pacer.offer(socket);
  });
}
