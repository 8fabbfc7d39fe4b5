// The admin routes, transport-neutral (the HTTP edge authenticates and parses): liveness,
// readiness, Prometheus metrics. Errors are JSON with a stable code and a message.

import type { BrokerMetrics } from './metrics.js';

export interface AdminRequest {
  readonly method: string;
  readonly url: URL;
  /** The request body, parsed as JSON when it is some; undefined when empty. */
  readonly body?: unknown;
}

export interface AdminResponse {
  readonly status: number;
  /** A string is sent as is (with `type`); anything else as JSON. */
  readonly body: unknown;
  readonly type?: string;
}

export type AdminRoutes = (request: AdminRequest) => AdminResponse | Promise<AdminResponse>;

export const jsonError = (status: number, code: string, message: string): AdminResponse => ({
  status,
  body: { error: { code, message } },
});

export interface Readiness {
  /** undefined when ready; otherwise what the broker is doing (opening the store, binding listeners...). */
  readonly notReady: string | undefined;
}

export interface AdminApiOptions {
  readonly metrics: BrokerMetrics;
  readonly readiness: Readiness;
}

type Handler = (request: AdminRequest) => AdminResponse | Promise<AdminResponse>;

export function adminRoutes(options: AdminApiOptions): AdminRoutes {
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/healthz': { GET: () => ({ status: 200, body: { status: 'ok' } }) },
    '/readyz': {
      GET: () => {
        const waiting = options.readiness.notReady;
        return waiting === undefined
          ? { status: 200, body: { status: 'ready' } }
          : { status: 503, body: { status: 'not ready', reason: waiting } };
      },
    },
    '/metrics': {
      GET: async () => ({
        status: 200,
        body: await options.metrics.text(),
        type: options.metrics.contentType,
      }),
    },
  };
  return (request) => {
    const route = routes[request.url.pathname];
    if (route === undefined) return jsonError(404, 'not_found', `no such endpoint: ${request.url.pathname}`);
    const handler = route[request.method];
    if (handler === undefined)
      return jsonError(
        405,
        'method_not_allowed',
        `${request.method} is not allowed on ${request.url.pathname}`,
      );
    return handler(request);
  };
}
