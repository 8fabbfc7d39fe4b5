// Prometheus metrics (prom-client), read from what the broker already counts at the moment of a
// scrape: the hot paths only bump plain numbers (broker-stats.ts), so metrics cost nothing between
// scrapes. Names follow Prometheus conventions: base units, _total counters, no client id or
// topic labels. Histograms (TLS handshake and store commit durations) are observed as they happen.

import type { X509Certificate } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BrokerStats } from '../core/broker-stats.js';
import type { BrokerView } from './broker-view.js';

export type MetricsSources = BrokerView;

const DAY_MS = 86_400_000;

/** Reads values from `from` and puts each, with its labels, into a metric. */
type Read<T> = (put: (value: number, labels?: Record<string, string>) => void, from: T) => void;

/** A label value without the quoted part some reasons carry (a PSK identity): one series per cause. */
const reasonLabel = (reason: string) => reason.replace(/\s*"[^"]*"/g, '').trim();

/** A certificate subject on one line, as openssl prints it. */
const subjectOf = (cert: X509Certificate) => cert.subject.split('\n').join(', ');

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #handshakeSeconds: Histogram<'listener'>;
  readonly #commitSeconds: Histogram;
  #sources: MetricsSources | undefined;

  constructor() {
    const registers = [this.registry];
    this.#defineProcessMetrics();
    this.#handshakeSeconds = new Histogram({
      name: 'warden_tls_handshake_duration_seconds',
      help: 'Time from TCP accept to an admitted TLS handshake.',
      labelNames: ['listener'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: 'warden_store_commit_duration_seconds',
      help: 'Time for one store transaction to be durable (every write of an event-loop turn).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.#defineGauges();
    this.#defineCounters();
  }

  /** The broker to read from, once it exists (the histograms are fed before that). */
  bind(sources: MetricsSources): void {
    this.#sources = sources;
  }

  readonly observeCommit = (seconds: number): void => this.#commitSeconds.observe(seconds);

  readonly edge = {
    tlsHandshake: (listener: string, seconds: number): void =>
      this.#handshakeSeconds.observe({ listener }, seconds),
  };

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * A metric whose value is read from the broker at each scrape: a gauge is set to it; a counter
   * (a count the broker keeps, which only grows) is reset and raised to it.
   */
  #scraped(
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    read: Read<MetricsSources>,
  ): void {
    const sources = () => this.#sources;
    const config = { name, help, labelNames, registers: [this.registry] };
    if (kind === 'gauge')
      new Gauge({
        ...config,
        collect() {
          this.reset();
          const s = sources();
          if (s) read((value, labels) => (labels ? this.set(labels, value) : this.set(value)), s);
        },
      });
    else
      new Counter({
        ...config,
        collect() {
          this.reset();
          const s = sources();
          if (s) read((value, labels) => (labels ? this.inc(labels, value) : this.inc(value)), s);
        },
      });
  }

  #gauge(name: string, help: string, labelNames: string[], read: Read<MetricsSources>): void {
    this.#scraped('gauge', name, help, labelNames, read);
  }

  /** A counter of a count in BrokerStats. */
  #counter(name: string, help: string, labelNames: string[], read: Read<BrokerStats>): void {
    this.#scraped('counter', name, help, labelNames, (put, s) => read(put, s.core.stats));
  }

  /**
   * The process metrics of prom-client's defaults that cost nothing between scrapes, under their
   * usual names. collectDefaultMetrics() is not used: its garbage-collection observer and
   * event-loop monitor work all the time, on every collection and tick, not at scrape time.
   */
  #defineProcessMetrics(): void {
    const registers = [this.registry];
    const cpu = (name: string, help: string, of: (u: NodeJS.CpuUsage) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(of(process.cpuUsage()) / 1e6);
        },
      });
    cpu('process_cpu_user_seconds_total', 'User CPU time spent, seconds.', (u) => u.user);
    cpu('process_cpu_system_seconds_total', 'System CPU time spent, seconds.', (u) => u.system);
    cpu('process_cpu_seconds_total', 'User and system CPU time spent, seconds.', (u) => u.user + u.system);
    const memory = (name: string, help: string, of: (m: NodeJS.MemoryUsage) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(of(process.memoryUsage()));
        },
      });
    memory('process_resident_memory_bytes', 'Resident memory size, bytes.', (m) => m.rss);
    memory('nodejs_heap_size_total_bytes', 'V8 heap size, bytes.', (m) => m.heapTotal);
    memory('nodejs_heap_size_used_bytes', 'V8 heap used, bytes.', (m) => m.heapUsed);
    memory(
      'nodejs_external_memory_bytes',
      'Memory of C++ objects bound to JavaScript, bytes.',
      (m) => m.external,
    );
    const started = Date.now() / 1000 - process.uptime();
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'Start time of the process, seconds since the epoch.',
      registers,
    }).set(Math.round(started));
    new Gauge({
      name: 'nodejs_version_info',
      help: 'Node.js version.',
      labelNames: ['version'],
      registers,
    }).set({ version: process.version }, 1);
  }

  #defineGauges(): void {
    this.#gauge(
      'warden_connections',
      'Clients connected, by listener.',
      ['listener', 'protocol'],
      (set, s) => {
        for (const l of s.listeners()) set(l.policy.connected, { listener: l.url, protocol: l.protocol });
      },
    );
    this.#gauge('warden_sessions', 'Sessions, with a client connected or not.', ['state'], (set, s) => {
      let connected = 0;
      let offline = 0;
      for (const session of s.core.sessions.values()) {
        if (session.owner === undefined) offline++;
        else connected++;
      }
      set(connected, { state: 'connected' });
      set(offline, { state: 'offline' });
    });
    const sum = (s: MetricsSources, of: (session: import('../core/session.js').Session) => number) => {
      let total = 0;
      for (const session of s.core.sessions.values()) total += of(session);
      return total;
    };
    this.#gauge('warden_subscriptions', 'Subscriptions of all sessions.', [], (set, s) =>
      set(sum(s, (x) => x.subscriptionCount)),
    );
    this.#gauge('warden_retained_messages', 'Retained messages held.', [], (set, s) =>
      set(s.core.retained.size),
    );
    this.#gauge('warden_queued_messages', 'Messages waiting in session queues.', [], (set, s) =>
      set(sum(s, (x) => x.queue.length)),
    );
    this.#gauge('warden_inflight_messages', 'QoS 1/2 messages sent and not yet acknowledged.', [], (set, s) =>
      set(sum(s, (x) => x.outboundCount)),
    );
    this.#gauge(
      'warden_tls_certificate_expiry_timestamp_seconds',
      'When each certificate a TLS listener serves (its own and SNI ones) or trusts for clients (CA) expires.',
      ['listener', 'subject', 'role'],
      (set, s) => {
        for (const channel of s.tls()) {
          const at = (cert: X509Certificate) => new Date(cert.validTo).getTime() / 1000;
          for (const { certificate } of channel.certificates())
            set(at(certificate), { listener: channel.name, subject: subjectOf(certificate), role: 'server' });
          for (const ca of channel.material.trusted)
            set(at(ca), { listener: channel.name, subject: subjectOf(ca), role: 'ca' });
        }
      },
    );
    this.#gauge(
      'warden_bridge_up',
      'Each bridge to another broker: 1 while its link is up.',
      ['bridge'],
      (set, s) => {
        for (const b of s.bridges()) set(b.up, { bridge: b.name });
      },
    );
    this.#scraped(
      'counter',
      'warden_bridge_messages_total',
      'Messages each bridge carried: out (acknowledged by the remote), in (taken here).',
      ['bridge', 'direction'],
      (put, s) => {
        for (const b of s.bridges()) {
          put(b.sent, { bridge: b.name, direction: 'out' });
          put(b.received, { bridge: b.name, direction: 'in' });
        }
      },
    );
    this.#scraped(
      'counter',
      'warden_bridge_dropped_total',
      'Outgoing messages a bridge dropped: too_big (bridge_max_packet_size), offline (QoS 0 while the link was down), queue_full (max_queued_messages).',
      ['bridge', 'reason'],
      (put, s) => {
        for (const b of s.bridges()) {
          put(b.dropped.tooBig, { bridge: b.name, reason: 'too_big' });
          put(b.dropped.offline, { bridge: b.name, reason: 'offline' });
          put(b.dropped.queueFull, { bridge: b.name, reason: 'queue_full' });
        }
      },
    );
    this.#gauge(
      'warden_bridge_queued_messages',
      "Outgoing messages waiting in a bridge's session here, for the link or for its window.",
      ['bridge'],
      (set, s) => {
        for (const b of s.bridges()) set(b.queued, { bridge: b.name });
      },
    );
    this.#gauge(
      'warden_cluster_redis_up',
      'A cluster node: 1 while its Redis can be written to (acknowledgements wait for it).',
      ['node'],
      (set, s) => {
        if (s.cluster) set(s.cluster.up ? 1 : 0, { node: s.cluster.nodeId });
      },
    );
    this.#gauge(
      'warden_cluster_node_up',
      'Every node of the cluster, as this node saw it at its last heartbeat: 1 alive, 0 stopped beating.',
      ['node'],
      (set, s) => {
        for (const { node, alive } of s.cluster?.nodes ?? []) set(alive ? 1 : 0, { node });
      },
    );
    this.#gauge(
      'warden_client_certificates_expiring',
      'Connected clients whose certificate expires within 7 or 30 days.',
      ['listener', 'within'],
      (set, s) => {
        for (const channel of s.tls()) {
          set(channel.clientCertificatesExpiring(7 * DAY_MS), { listener: channel.name, within: '7d' });
          set(channel.clientCertificatesExpiring(30 * DAY_MS), { listener: channel.name, within: '30d' });
        }
      },
    );
  }

  #defineCounters(): void {
    const byQos = (add: (v: number, l: Record<string, string>) => void, counts: readonly number[]) => {
      for (const [qos, n] of counts.entries()) add(n, { qos: String(qos) });
    };
    this.#counter('warden_messages_received_total', 'PUBLISH packets received, by QoS.', ['qos'], (add, st) =>
      byQos(add, st.publishReceivedByQos),
    );
    this.#counter('warden_messages_delivered_total', 'PUBLISH packets sent, by QoS.', ['qos'], (add, st) =>
      byQos(add, st.publishSentByQos),
    );
    this.#counter(
      'warden_messages_dropped_total',
      'Messages not delivered, by reason.',
      ['reason'],
      (add, st) => {
        add(st.messagesDroppedQueueFull, { reason: 'queue_full' });
        add(st.messagesDroppedSlowConsumer, { reason: 'slow_consumer' });
        add(st.messagesDroppedTooLarge, { reason: 'too_large' });
        add(st.messagesExpired, { reason: 'expired' });
        add(st.messagesNoSubscribers, { reason: 'no_subscribers' });
      },
    );
    this.#counter(
      'warden_quota_refusals_total',
      'Subscriptions (maxSubscriptionsPerClient) and retained messages (maxRetainedMessages / maxRetainedBytes) refused by their limits.',
      ['quota'],
      (add, st) => {
        add(st.quotaRefusals.subscriptions, { quota: 'subscriptions' });
        add(st.quotaRefusals.retained, { quota: 'retained' });
      },
    );
    this.#counter('warden_bytes_received_total', 'Bytes received from clients.', [], (add, st) =>
      add(st.bytesReceived),
    );
    this.#counter('warden_bytes_sent_total', 'Bytes sent to clients.', [], (add, st) => add(st.bytesSent));
    this.#counter(
      'warden_tls_handshakes_total',
      'TLS handshakes that admitted a client.',
      ['listener'],
      (add, st) => {
        for (const [listener, n] of Object.entries(st.tlsHandshakes)) add(n, { listener });
      },
    );
    this.#counter(
      'warden_tls_handshake_failures_total',
      'Connections refused before MQTT (TLS handshakes and the like), by reason.',
      ['listener', 'reason'],
      (add, st) => {
        for (const [listener, reasons] of Object.entries(st.handshakeFailuresByListener))
          for (const [reason, n] of Object.entries(reasons))
            add(n, { listener, reason: reasonLabel(reason) });
      },
    );
    this.#counter(
      'warden_login_failures_total',
      'Refused logins, by listener and reason code.',
      ['listener', 'reason'],
      (add, st) => {
        for (const [listener, reasons] of Object.entries(st.loginFailuresByListener))
          for (const [reason, n] of Object.entries(reasons)) add(n, { listener, reason });
      },
    );
    this.#counter(
      'warden_authorization_denials_total',
      'Publishes, subscriptions and deliveries refused by authorization.',
      ['action'],
      (add, st) => {
        for (const [action, n] of Object.entries(st.authorizationDenialsByAction)) add(n, { action });
      },
    );
    this.#counter('warden_store_write_failures_total', 'Store transactions that failed.', [], (add, st) =>
      add(st.storeWriteFailures),
    );
  }
}
