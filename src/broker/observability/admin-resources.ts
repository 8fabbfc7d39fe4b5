// The admin API's JSON resources: connected clients (paged and filtered, one with its
// subscriptions, a disconnect), listeners with their certificates, reload, retained messages and
// the $SYS values. A bad query parameter is a 400 that names it.

import type { X509Certificate } from 'node:crypto';
import { describeCertificate } from '../../pki/describe-certificate.js';
import { ReasonCode, validateTopicFilter } from '../../protocol/index.js';
import type { ClientConnection } from '../core/broker-core.js';
import { messagesDropped } from '../core/broker-stats.js';
import { type AdminResponse, jsonError } from './admin-http.js';
import type { BrokerView, TlsView } from './broker-view.js';

const DAY_MS = 86_400_000;
const MAX_LIMIT = 1000;

export interface ReloadResults {
  readonly tls: ReadonlyArray<{ listener: string; ok: boolean; error?: string; revoked?: number }>;
  readonly security: ReadonlyArray<{ file: string; ok: boolean; error?: string }>;
}

export interface AdminResourcesOptions {
  readonly view: BrokerView;
  readonly reload: () => Promise<ReloadResults>;
  /** The $SYS values now, by topic. */
  readonly stats: () => ReadonlyMap<string, string>;
}

class BadQuery extends Error {}

/** A whole number query parameter within [0, max]; `fallback` when absent. */
function intParam(url: URL, name: string, fallback: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max)
    throw new BadQuery(`query parameter "${name}" must be a whole number from 0 to ${max}, not "${text}"`);
  return Number(text);
}

export class AdminResources {
  readonly #options: AdminResourcesOptions;

  constructor(options: AdminResourcesOptions) {
    this.#options = options;
  }

  /** Runs a handler; a BadQuery becomes its 400. */
  static guarded(run: () => AdminResponse | Promise<AdminResponse>): AdminResponse | Promise<AdminResponse> {
    try {
      return run();
    } catch (error) {
      if (error instanceof BadQuery) return jsonError(400, 'bad_query', error.message);
      throw error;
    }
  }

  #now(): number {
    return this.#options.view.core.options.clock.now();
  }

  #connected(): ClientConnection[] {
    return [...this.#options.view.core.owners].filter((c) => c.connected && c.currentSession !== undefined);
  }

  #find(id: string): ClientConnection | undefined {
    return this.#connected().find((c) => c.currentSession?.clientId === id);
  }

  #summary(c: ClientConnection) {
    const session = c.currentSession!;
    const cert = c.channel.tls?.certificate;
    return {
      clientId: session.clientId,
      username: c.username ?? null,
      listener: c.listener.name,
      address: c.channel.remoteAddress,
      protocolVersion: c.version === 5 ? '5.0' : c.version === 4 ? '3.1.1' : '3.1',
      connectedSince: new Date(c.connectedAt ?? 0).toISOString(),
      keepAlive: c.keepAlive ?? 0,
      tls: c.channel.tls
        ? {
            version: c.channel.tls.protocol,
            cipher: c.channel.tls.cipher,
            certificate: cert
              ? {
                  subject: cert.subject,
                  issuer: cert.issuer,
                  notAfter: cert.notAfter,
                  daysLeft: Math.floor((new Date(cert.notAfter).getTime() - this.#now()) / DAY_MS),
                }
              : null,
          }
        : null,
      subscriptions: session.subscriptionCount,
      queued: session.queue.length,
      inFlight: session.outboundCount,
    };
  }

  /** GET /api/clients?offset=&limit=&prefix=&user=&listener= */
  clients(url: URL): AdminResponse {
    const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(url, 'limit', 100, MAX_LIMIT);
    const prefix = url.searchParams.get('prefix') ?? '';
    const user = url.searchParams.get('user');
    const listener = url.searchParams.get('listener');
    const matching = this.#connected()
      .filter((c) => c.currentSession!.clientId.startsWith(prefix))
      .filter((c) => user === null || c.username === user)
      .filter((c) => listener === null || c.listener.name === listener)
      .sort((a, b) => (a.currentSession!.clientId < b.currentSession!.clientId ? -1 : 1));
    return {
      status: 200,
      body: {
        total: matching.length,
        offset,
        limit,
        clients: matching.slice(offset, offset + limit).map((c) => this.#summary(c)),
      },
    };
  }

  /** GET /api/clients/:id: the summary and the subscriptions. */
  client(id: string): AdminResponse {
    const c = this.#find(id);
    if (c === undefined) return jsonError(404, 'no_such_client', `no connected client "${id}"`);
    const subscriptions = [...c.currentSession!.subscriptions].map(([filter, o]) => ({
      filter,
      qos: o.qos,
      noLocal: o.noLocal,
      retainAsPublished: o.retainAsPublished,
      ...(o.subscriptionIdentifier !== undefined && { identifier: o.subscriptionIdentifier }),
    }));
    return { status: 200, body: { ...this.#summary(c), subscriptions } };
  }

  /** DELETE /api/clients/:id: v5 DISCONNECT 0x98 (administrative action), then close. */
  disconnect(id: string): AdminResponse {
    const c = this.#find(id);
    if (c === undefined) return jsonError(404, 'no_such_client', `no connected client "${id}"`);
    c.disconnect(ReasonCode.AdministrativeAction, 'disconnected through the admin API');
    return { status: 200, body: { disconnected: id } };
  }

  /** GET /api/listeners */
  bridges(): AdminResponse {
    return { status: 200, body: { bridges: [...this.#options.view.bridges()] } };
  }

  listeners(): AdminResponse {
    const body = [...this.#options.view.listeners()].map((l) => ({
      url: l.url,
      protocol: l.protocol,
      connections: l.policy.connected,
      tls: l.tls ? this.#tls(l.tls) : null,
    }));
    return { status: 200, body: { listeners: body } };
  }

  #tls(tls: TlsView) {
    const describe = (cert: X509Certificate, extra: Record<string, unknown> = {}) => {
      const summary = describeCertificate(cert, new Date(this.#now()));
      return {
        subject: summary.subject,
        subjectAltName: summary.subjectAltNames.length > 0 ? summary.subjectAltNames.join(', ') : null,
        issuer: summary.issuer,
        notAfter: summary.notAfter.toISOString(),
        daysLeft: summary.daysLeft,
        ...extra,
      };
    };
    return {
      clientCertificates: tls.config.clientCertificates,
      certificates: tls
        .certificates()
        .map((c) => describe(c.certificate, { file: c.file, status: c.status })),
      trustedCas: tls.material.trusted.map((ca) => describe(ca)),
      ocsp: tls.ocspStatus(),
      lastReload: tls.lastReload ?? null,
    };
  }

  /** POST /api/reload: TLS files and security files, each file's result. */
  async reload(): Promise<AdminResponse> {
    const results = await this.#options.reload();
    const ok = results.tls.every((r) => r.ok) && results.security.every((r) => r.ok);
    return { status: ok ? 200 : 422, body: { ok, ...results } };
  }

  /** GET /api/retained?filter=&limit= */
  retained(url: URL): AdminResponse {
    const filter = url.searchParams.get('filter') ?? '#';
    const limit = intParam(url, 'limit', 100, MAX_LIMIT);
    const problem = validateTopicFilter(filter);
    if (problem) throw new BadQuery(`query parameter "filter": ${problem}`);
    const found = this.#options.view.core.retainedMatching(filter);
    return {
      status: 200,
      body: {
        total: found.length,
        messages: found.slice(0, limit).map((m) => ({
          topic: m.topic,
          qos: m.qos,
          bytes: m.payload.length,
          // A preview for people; the payload itself is the publisher's business.
          preview: m.payload.subarray(0, 128).toString('utf8'),
          ...(m.expiresAt !== undefined && { expiresAt: new Date(m.expiresAt).toISOString() }),
        })),
      },
    };
  }

  /** DELETE /api/retained?topic= */
  clearRetained(url: URL): AdminResponse {
    const topic = url.searchParams.get('topic');
    if (topic === null || topic === '') throw new BadQuery('query parameter "topic" is required');
    if (!this.#options.view.core.clearRetained(topic))
      return jsonError(404, 'no_such_retained', `no retained message on "${topic}"`);
    return { status: 200, body: { cleared: topic } };
  }

  /** GET /api/overview: the counts the dashboard's overview shows. */
  overview(): AdminResponse {
    const core = this.#options.view.core;
    const st = core.stats;
    const loginFailures = Object.entries(st.loginFailuresByListener).flatMap(([listener, reasons]) =>
      Object.entries(reasons).map(([reason, count]) => ({ listener, reason, count })),
    );
    return {
      status: 200,
      body: {
        connections: st.clientsConnected,
        sessions: core.sessions.size,
        messagesReceived: st.publishReceived,
        messagesSent: st.publishSent,
        messagesDropped: messagesDropped(st),
        handshakeFailures: st.handshakeFailures,
        loginFailures,
        ...(this.#options.view.cluster && {
          cluster: { nodeId: this.#options.view.cluster.nodeId, nodes: this.#options.view.cluster.nodes },
        }),
      },
    };
  }

  /** GET /api/stats: what $SYS has. */
  stats(): AdminResponse {
    return { status: 200, body: Object.fromEntries(this.#options.stats()) };
  }
}
