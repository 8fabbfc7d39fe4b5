// The TCP server in front of a listener behind a load balancer: each connection's PROXY header
// is read and judged first; a refusal is recorded (counted by reason, logged with what the
// connection did) and the socket closed; an admitted connection goes on to the listener with the
// client's address and identity as the proxy told them.

import { createServer, type Server, type Socket } from 'node:net';
import type { PeerIdentity } from '../core/ports.js';
import { acceptProxied, type ProxyOptions, trustedList } from './proxy-accept.js';
import { recordRefusal } from './record-refusal.js';
import type { SocketChannelOptions } from './socket-channel.js';

export function proxiedServer(
  proxy: ProxyOptions,
  where: { readonly url: string },
  options: SocketChannelOptions,
  admitted: (socket: Socket, remote: string, identity: PeerIdentity | undefined) => void,
): Server {
  const trusted = proxy.trustedProxies && trustedList(proxy.trustedProxies);
  return createServer((socket) => {
    socket.setNoDelay(options.tcpNoDelay);
    void acceptProxied(socket, proxy, trusted).then((peer) => {
      if ('refused' in peer) {
        const fields = {
          listener: where.url,
          remote: `${socket.remoteAddress}:${socket.remotePort}`,
          code: peer.refused,
        };
        recordRefusal(options, fields, peer.reason);
        socket.destroy();
        return;
      }
      admitted(socket, peer.remote, peer.identity);
    });
  });
}
