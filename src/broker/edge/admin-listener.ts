// The admin listener: HTTP (or HTTPS with a broker listener's TLS settings) in front of the admin
// routes (observability/admin-api.ts). Every request is authenticated here when a token is
// configured: the bearer token is compared in constant time (SHA-256 of both sides, so the
// length leaks nothing either) and never logged.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../core/ports.js';
import { type AdminResponse, type AdminRoutes, jsonError } from '../observability/admin-http.js';
import { bindServer } from './bind-server.js';
import type { TlsChannel } from './tls-channel.js';

export interface AdminListenerOptions {
  readonly host: string;
  readonly port: number;
  /** Present: every request needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly tls?: TlsChannel;
  readonly logger: Logger;
  /**
   * Paths served without the token: the dashboard's page, which holds no data (its requests
   * for data bring the token).
   */
  readonly publicPaths?: readonly string[];
}

const MAX_BODY = 64 * 1024;
const digest = (text: string) => createHash('sha256').update(text).digest();

export interface RunningAdmin {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenAdmin(options: AdminListenerOptions, routes: AdminRoutes): Promise<RunningAdmin> {
  const scheme = options.tls ? 'https' : 'http';
  const where = { url: `${scheme}://${options.host}:${options.port}` };
  const expected = options.token === undefined ? undefined : digest(options.token);
  const authorized = (request: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
  const serve = (request: IncomingMessage, response: ServerResponse) => {
    void answer(request).then(
      (result) => send(response, result),
      (error: Error) => {
        // The path only: a dashboard URL may carry ?token=.
        const path = (request.url ?? '/').split('?')[0];
        options.logger.error({ path, error: error.message }, 'admin request failed');
        send(response, jsonError(500, 'internal', 'the request failed; see the broker log'));
      },
    );
  };
  const answer = async (request: IncomingMessage): Promise<AdminResponse> => {
    const tls = options.tls;
    if (tls?.config.clientCertificates === 'required' && !(request.socket as TLSSocket).authorized)
      return jsonError(401, 'unauthorized', 'a client certificate the admin listener trusts is required');
    const url = new URL(request.url ?? '/', 'http://admin');
    const open = request.method === 'GET' && options.publicPaths?.includes(url.pathname) === true;
    if (!open && !authorized(request))
      return jsonError(401, 'unauthorized', 'a valid bearer token is required');
    const body = await readBody(request);
    if (body === INVALID) return jsonError(400, 'bad_request', 'the request body is not JSON');
    if (body === TOO_LARGE) return jsonError(413, 'too_large', `the request body is over ${MAX_BODY} bytes`);
    return routes({ method: request.method ?? 'GET', url, body });
  };
  const server = options.tls
    ? createHttpsServer(options.tls.serverOptions(['http/1.1']), serve)
    : createHttpServer(serve);
  if (options.tls) options.tls.serve(server as unknown as import('node:tls').Server, ['http/1.1']);
  const port = await bindServer(server, options.host, options.port, where.url);
  where.url = `${scheme}://${options.host}:${port}`;
  return {
    port,
    url: where.url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const INVALID = Symbol('invalid');
const TOO_LARGE = Symbol('too large');

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return TOO_LARGE;
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return INVALID;
  }
}

function send(response: ServerResponse, result: AdminResponse): void {
  const text = typeof result.body === 'string';
  const payload = text ? (result.body as string) : `${JSON.stringify(result.body, null, 2)}\n`;
  const headers: Record<string, string> = {
    'content-type': text ? (result.type ?? 'text/plain; charset=utf-8') : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  if (result.status === 401) headers['www-authenticate'] = 'Bearer realm="warden"';
  response.writeHead(result.status, { ...headers, ...result.headers }).end(payload);
}
