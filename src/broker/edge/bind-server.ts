// Binding a listener's server: listen, name the listener in any error, and read back the bound
// port (port 0 picks one). Shared by every transport.

import type { Server } from 'node:net';

/** Listens on host:port; resolves with the bound port; rejects naming `url` (e.g. mqtt://host:port). */
export async function bindServer(server: Server, host: string, port: number, url: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`listener ${url}: ${error.code ?? ''} ${error.message}`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
