// A TCP proxy in front of a port on 127.0.0.1 that a test cuts to lose connections the hard
// way (no DISCONNECT, no FIN from the client's side first).

import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';

/** Forwards to `target`; cut() drops every connection through it; down() refuses new ones too, until up(). */
export async function proxy(target: number) {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((downstream) => {
    if (refusing) {
      downstream.destroy();
      return;
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: target });
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    downstream.pipe(upstream).pipe(downstream);
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    down: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    up: () => {
      refusing = false;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
