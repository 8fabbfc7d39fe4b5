// The admin routes, transport-neutral (the HTTP edge authenticates and parses): liveness,
// readiness, Prometheus metrics and the JSON API (admin-resources.ts). Errors are JSON with a
// stable code and a message.

import { type AdminRequest, type AdminResponse, type AdminRoutes, jsonError } from './admin-http.js';
import { AdminResources, type AdminResourcesOptions } from './admin-resources.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.js';
import type { BrokerMetrics } from './metrics.js';

export interface Readiness {
  /** undefined when ready; otherwise what the broker is doing (opening the store, binding listeners...). */
  readonly notReady: string | undefined;
}

export interface AdminApiOptions {
  readonly metrics: BrokerMetrics;
  readonly readiness: Readiness;
  /** The broker, once it is up (the API answers 503 before). */
  resources?: AdminResourcesOptions;
}

type Handler = (request: AdminRequest) => AdminResponse | Promise<AdminResponse>;

/** The paths anyone who reaches the listener may GET: the dashboard's page, without data. */
export const PUBLIC_PATHS = ['/', '/dashboard', '/favicon.ico'];

const dashboard: Handler = () => ({
  status: 200,
  body: DASHBOARD_HTML,
  type: 'text/html; charset=utf-8',
  headers: { 'content-security-policy': DASHBOARD_CSP, 'referrer-policy': 'no-referrer' },
});

export function adminRoutes(options: AdminApiOptions): AdminRoutes {
  let resources: AdminResources | undefined;
  /** The API needs the running broker. */
  const api =
    (run: (r: AdminResources, request: AdminRequest) => AdminResponse | Promise<AdminResponse>): Handler =>
    (request) => {
      if (options.resources === undefined)
        return jsonError(503, 'not_ready', options.readiness.notReady ?? 'starting');
      resources ??= new AdminResources(options.resources);
      const ready = resources;
      return AdminResources.guarded(() => run(ready, request));
    };
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
    '/': { GET: dashboard },
    '/dashboard': { GET: dashboard },
    // Browsers ask for it; there is none.
    '/favicon.ico': { GET: () => ({ status: 204, body: '' }) },
    '/api/overview': { GET: api((r) => r.overview()) },
    '/api/clients': { GET: api((r, q) => r.clients(q.url)) },
    '/api/listeners': { GET: api((r) => r.listeners()) },
    '/api/bridges': { GET: api((r) => r.bridges()) },
    '/api/reload': { POST: api((r) => r.reload()) },
    '/api/retained': { GET: api((r, q) => r.retained(q.url)), DELETE: api((r, q) => r.clearRetained(q.url)) },
    '/api/stats': { GET: api((r) => r.stats()) },
  };
  // /api/clients/<client id>: the id percent-encoded, as any character may be in one.
  const clientRoutes = (id: string): Partial<Record<string, Handler>> => ({
    GET: api((r) => r.client(id)),
    DELETE: api((r) => r.disconnect(id)),
  });
  return (request) => {
    const path = request.url.pathname;
    let route = routes[path];
    if (path.startsWith('/api/clients/')) {
      try {
        route = clientRoutes(decodeURIComponent(path.slice('/api/clients/'.length)));
      } catch {
        return jsonError(400, 'bad_path', 'the client id in the path is not percent-encoded UTF-8');
      }
    }
    if (route === undefined) return jsonError(404, 'not_found', `no such endpoint: ${path}`);
    const handler = route[request.method];
    if (handler === undefined)
      return jsonError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}`);
    return handler(request);
  };
}
