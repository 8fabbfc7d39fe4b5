// A bridge to another broker, as mosquitto's `connection` block: two of warden's own clients,
// one inside this broker (an in-process connection holding a persistent session) and one to the
// remote broker (verified as `warden pub` would verify it, reconnecting with backoff). A message
// is acknowledged to the side it came from only once the other side has acknowledged it, so an
// outgoing QoS 1/2 message waits in the local session (in the store, bounded by
// max_queued_messages) while the link is down, and an incoming one in the remote session.
// Loops: the local subscriptions are no-local; on MQTT 5 the remote ones too, and on 3.1.1 the
// bridge flag (try_private) asks the remote broker for the same.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  ClientError,
  connect,
  type MqttClient,
  type ReceivedMessage,
  reachable,
  type TrustProvider,
} from '../../client/index.js';
import { publishPacketSize, topicMatches } from '../../protocol/index.js';
import type { BridgeConfig } from '../config/config-schema.js';
import { forwardedProperties } from '../core/message.js';
import type { Logger } from '../core/ports.js';

/** What the broker gives a bridge. */
export interface BridgeHost {
  /** A new in-process connection to this broker. */
  openLocal(name: string): Promise<Duplex>;
  /** The bridge's session here: what waits in it to go out, and what a full queue cost. */
  localQueue(clientId: string): { readonly queued: number; readonly droppedQueueFull: number };
  /** Publishes the link's state here, retained (it is the broker's own, as $SYS is). */
  publishState(topic: string, payload: string): void;
}

type Topic = BridgeConfig['topics'][number];
type Address = BridgeConfig['addresses'][number];
/** A topic with the filter it is subscribed with on its side: local for out, remote for in. */
type Route = Topic & { readonly filter: string };

/** host:port, an IPv6 literal in brackets (a URL needs them, and a log reads better). */
const hostPort = (a: Address) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** What a bridge has done, for the metrics and the admin API. */
export interface BridgeStatus {
  readonly name: string;
  readonly remoteClientId: string;
  /** 1 while the remote link is up. */
  readonly up: 0 | 1;
  /** The address connected to, or last tried. */
  readonly address: string;
  readonly sent: number;
  readonly received: number;
  /** Outgoing messages waiting in the bridge's session here (for the link, or for its window). */
  readonly queued: number;
  /**
   * Outgoing messages dropped: bigger than maxPacketSize (tooBig), QoS 0 while the link was down
   * (offline: as mosquitto, only QoS 1/2 wait), or the session's queue full (queueFull,
   * max_queued_messages).
   */
  readonly dropped: { readonly tooBig: number; readonly offline: number; readonly queueFull: number };
  readonly connects: number;
  readonly lastError?: string;
}

/** Outgoing QoS 1/2 messages the bridge holds in memory at most; the rest wait in its session here. */
const LOCAL_WINDOW = 100;

/** While on a secondary address (round_robin false), how often the main one is tried. */
const PRIMARY_RETRY_MS = 5000;

/** A longer setTimeout fires at once: a restart_timeout beyond it waits this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A local topic's remote name, or the reverse: the prefix swapped. */
const swapPrefix = (topic: string, from: string, to: string) => to + topic.slice(from.length);

export class Bridge {
  readonly name: string;
  readonly remoteClientId: string;
  readonly notificationTopic: string;
  /** 1 while the remote link is up. */
  state: 0 | 1 = 0;
  readonly #config: BridgeConfig;
  readonly #host: BridgeHost;
  readonly #logger: Logger;
  #local: MqttClient | undefined;
  #remote: MqttClient | undefined;
  #stopped = false;
  /** The address the next attempt dials, and the one dialed last. */
  #next = 0;
  #at = 0;
  #primaryRetry: NodeJS.Timeout | undefined;
  #counts = { sent: 0, received: 0, connects: 0 };
  #dropped = { tooBig: 0, offline: 0 };
  readonly #localClientId: string;
  #lastError: string | undefined;
  /**
   * Outgoing messages that came before the remote broker was first reached (a persistent local
   * session resumes its subscriptions at once): bounded by the local in-flight window.
   */
  #early: ReceivedMessage[] = [];
  /** The topics each way with their filters, worked out once: every message is routed through them. */
  readonly #out: readonly Route[];
  readonly #in: readonly Route[];

  readonly #trust: TrustProvider | TrustProvider['verify'] | undefined;

  constructor(
    config: BridgeConfig,
    host: BridgeHost,
    logger: Logger,
    trust?: TrustProvider | TrustProvider['verify'],
  ) {
    this.#trust = trust;
    this.name = config.name;
    this.#config = config;
    this.#out = config.topics
      .filter((t) => t.direction !== 'in')
      .map((t) => ({ ...t, filter: t.localPrefix + t.pattern }));
    this.#in = config.topics
      .filter((t) => t.direction !== 'out')
      .map((t) => ({ ...t, filter: t.remotePrefix + t.pattern }));
    this.#host = host;
    this.#logger = logger.child({ bridge: config.name });
    this.remoteClientId = config.remoteClientId ?? `${hostname()}.${config.name}`;
    this.#localClientId = config.localClientId ?? `local.${this.remoteClientId}`;
    this.notificationTopic =
      config.notificationTopic ?? `$SYS/broker/connection/${this.remoteClientId}/state`;
  }

  /** Opens the local side now; the remote side connects in the background, for as long as it takes. */
  async start(): Promise<void> {
    this.#setState(0);
    const clean = this.#config.localCleanSession ?? this.#config.cleanSession;
    const local = await connect('mqtt://bridge.local', {
      stream: () => this.#host.openLocal(this.name),
      clientId: this.#localClientId,
      protocolVersion: 5,
      clean,
      sessionExpiryInterval: clean ? 0 : 0xffffffff,
      keepAlive: 0,
      // The window the broker may fill before it queues in the session (durably, bounded by
      // max_queued_messages): what waits here in memory for the link is at most this.
      maxInflight: LOCAL_WINDOW,
      manualAcks: true,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    this.#local = local;
    // From the client's inbox: a resumed session's messages may come with its CONNACK, before
    // any listener could be attached.
    void this.#drain(local, (message) => this.#outgoing(message));
    // Subscribed here at once, whatever the remote's state: what is published while the link is
    // down waits in this session (a resumed session has its subscriptions already).
    for (const t of this.#out)
      await local.subscribe(t.filter, {
        qos: t.qos,
        noLocal: true,
        retainAsPublished: true,
      });
    void this.#connectRemote();
  }

  status(): BridgeStatus {
    const address = this.#config.addresses[this.#at]!;
    const local = this.#host.localQueue(this.#localClientId);
    return {
      name: this.name,
      remoteClientId: this.remoteClientId,
      up: this.state,
      address: hostPort(address),
      ...this.#counts,
      queued: local.queued,
      dropped: { ...this.#dropped, queueFull: local.droppedQueueFull },
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    };
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#primaryRetry);
    await Promise.allSettled([this.#remote?.end({ timeoutMs: 1000 }), this.#local?.end({ timeoutMs: 1000 })]);
  }

  /**
   * Connects to the first address that answers, again and again with backoff until one does;
   * from then on the client reconnects on its own, through #nextAddress. start_type once: one try.
   */
  async #connectRemote(): Promise<void> {
    const { base, cap } = this.#config.restartTimeout;
    for (let attempt = 0; !this.#stopped; attempt++) {
      const address = this.#nextAddress();
      try {
        const remote = await connect(this.#remoteUrl(address), this.#remoteOptions());
        if (this.#stopped) {
          await remote.end({ timeoutMs: 500 });
          return;
        }
        this.#remote = remote;
        void this.#drain(remote, (message) => this.#incoming(message));
        remote.on('stage', (event: { stage: string; detail?: string }) => {
          if (event.stage === 'connected')
            this.#up().catch((error: Error) =>
              this.#logger.warn({ error: error.message }, 'bridge: subscribing after a reconnection failed'),
            );
          if (event.stage === 'disconnected') this.#down(event.detail);
        });
        remote.on('reconnect-failed', (error: Error) =>
          this.#failed(this.#config.addresses[this.#at]!, error),
        );
        await this.#up();
        return;
      } catch (error) {
        this.#failed(address, error);
        if (this.#config.startType === 'once') return;
        const delay = Math.min(cap, base * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay * 1000, MAX_TIMER_MS)).unref());
      }
    }
  }

  /** The address to dial now: the next in turn (after a drop, the main one first unless round_robin). */
  #nextAddress(): Address {
    const addresses = this.#config.addresses;
    this.#at = this.#next;
    this.#next = (this.#at + 1) % addresses.length;
    return addresses[this.#at]!;
  }

  /** A failed attempt: warned about when its reason is new, else only at debug level (it repeats). */
  #failed(address: Address, error: unknown): void {
    const reason = error instanceof ClientError ? error.message : String(error);
    const fields = {
      address: hostPort(address),
      ...(error instanceof ClientError && { stage: error.stage, code: error.code }),
      reason,
    };
    const repeated = reason === this.#lastError;
    this.#lastError = reason;
    if (repeated) this.#logger.debug(fields, 'bridge: remote broker not reached (again)');
    else this.#logger.warn(fields, 'bridge: remote broker not reached');
  }

  #down(reason: string | undefined): void {
    if (reason !== undefined) this.#lastError = reason;
    clearInterval(this.#primaryRetry);
    this.#primaryRetry = undefined;
    if (!this.#config.roundRobin) this.#next = 0;
    this.#setState(0);
  }

  /**
   * On a secondary address with round_robin false: every few seconds a TCP connection to the main
   * address; once it answers, the link is dropped so that the reconnection goes there.
   */
  #watchPrimary(): void {
    if (this.#config.roundRobin || this.#at === 0 || this.#primaryRetry) return;
    const primary = this.#config.addresses[0]!;
    this.#primaryRetry = setInterval(async () => {
      if (!(await reachable(primary.host, primary.port, PRIMARY_RETRY_MS)) || this.#at === 0 || this.#stopped)
        return;
      this.#logger.info({ address: hostPort(primary) }, 'bridge: main address back, moving to it');
      this.#next = 0;
      this.#remote?.dropConnection();
    }, PRIMARY_RETRY_MS);
    this.#primaryRetry.unref();
  }

  async #drain(client: MqttClient, handle: (message: ReceivedMessage) => void): Promise<void> {
    for await (const message of client.messages()) handle(message);
  }

  #remoteUrl(address: Address): string {
    return `${this.#config.tls ? 'mqtts' : 'mqtt'}://${hostPort(address)}`;
  }

  #remoteOptions() {
    const c = this.#config;
    const tls = c.tls;
    return {
      clientId: this.remoteClientId,
      protocolVersion: c.protocolVersion,
      bridge: c.tryPrivate,
      clean: c.cleanSession,
      ...(c.protocolVersion === 5 && !c.cleanSession && { sessionExpiryInterval: 0xffffffff }),
      keepAlive: c.keepAlive,
      ...(c.remoteUsername !== undefined && { username: c.remoteUsername }),
      ...(c.remotePassword !== undefined && { password: c.remotePassword }),
      ...(c.notifications && {
        will: { topic: this.notificationTopic, payload: '0', qos: 1 as const, retain: true },
      }),
      manualAcks: true,
      nextUrl: () => this.#remoteUrl(this.#nextAddress()),
      reconnect:
        c.startType === 'once'
          ? (false as const)
          : {
              initialDelayMs: Math.min(c.restartTimeout.base * 1000, MAX_TIMER_MS),
              maxDelayMs: Math.min(c.restartTimeout.cap * 1000, MAX_TIMER_MS),
            },
      // What waits for the link is what the local session has in flight: its window bounds it.
      offlineQueueLimit: 100_000,
      ...(tls && {
        caFile: tls.caFile,
        caPath: tls.caPath,
        systemStore: tls.systemStore,
        pins: tls.pins,
        minVersion: tls.minVersion,
        ...(tls.alpn && { alpn: tls.alpn }),
        ...(tls.psk && { psk: tls.psk }),
        ...(tls.certFile &&
          tls.keyFile && {
            // Read at every (re)connect: a renewed certificate is picked up.
            certificate: () => ({ cert: readFileSync(tls.certFile!), key: readFileSync(tls.keyFile!) }),
          }),
        skipHostnameCheck: tls.insecure,
        ...(this.#trust && { trustProvider: this.#trust }),
      }),
      onWarning: (m: string) => this.#logger.warn({}, `bridge: ${m}`),
    };
  }

  /** Connected (again): the remote subscriptions (a resumed session keeps them), the state told. */
  async #up(): Promise<void> {
    const remote = this.#remote!;
    const v5 = this.#config.protocolVersion === 5;
    for (const t of this.#in)
      await remote.subscribe(t.filter, { qos: t.qos, noLocal: v5, retainAsPublished: v5 });
    this.#counts.connects++;
    this.#setState(1);
    this.#watchPrimary();
    for (const message of this.#early.splice(0)) this.#outgoing(message);
    if (this.#config.notifications)
      await remote.publish(this.notificationTopic, '1', { qos: 1, retain: true }).catch(() => undefined);
    this.#logger.info({ remote: this.remoteClientId }, 'bridge: connected');
  }

  /** A local message for the remote broker: acknowledged here once the remote has it. */
  #outgoing(message: ReceivedMessage): void {
    const route = firstMatch(this.#out, message.topic);
    const remote = this.#remote;
    if (route === undefined) return;
    if (remote === undefined || (message.qos === 0 && !remote.connected)) {
      // As mosquitto: only QoS 1/2 waits for the link (in the session here, bounded by its queue).
      if (message.qos === 0) this.#dropped.offline++;
      else this.#early.push(message);
      return;
    }
    const topic = swapPrefix(message.topic, route.localPrefix, route.remotePrefix);
    const qos = Math.min(message.qos, route.qos) as 0 | 1 | 2;
    const v5 = this.#config.protocolVersion === 5;
    const options = {
      qos,
      retain: this.#config.outgoingRetain && message.retain,
      ...(v5 && message.properties && { properties: forwardedProperties(message.properties) }),
    };
    if (this.#tooBig(topic, message.payload, options)) {
      this.#dropped.tooBig++;
      this.#logger.warn(
        { topic, bytes: message.payload.length, maxPacketSize: this.#config.maxPacketSize },
        'bridge: message bigger than bridge_max_packet_size, dropped',
      );
      message.ack?.();
      return;
    }
    remote
      .publish(topic, message.payload, options)
      .then(() => {
        this.#counts.sent++;
        message.ack?.();
      })
      .catch((error: Error) =>
        this.#logger.warn({ topic, error: error.message }, 'bridge: not forwarded; kept here'),
      );
  }

  /** A remote message for this broker: acknowledged to the remote once this broker has it. */
  #incoming(message: ReceivedMessage): void {
    const route = firstMatch(this.#in, message.topic);
    const local = this.#local;
    if (route === undefined || local === undefined) return;
    const topic = swapPrefix(message.topic, route.remotePrefix, route.localPrefix);
    const qos = Math.min(message.qos, route.qos) as 0 | 1 | 2;
    local
      .publish(topic, message.payload, { qos, retain: message.retain })
      .then(() => {
        this.#counts.received++;
        message.ack?.();
      })
      .catch((error: Error) =>
        this.#logger.warn({ topic, error: error.message }, 'bridge: not delivered here'),
      );
  }

  /** Over bridge_max_packet_size as the remote would receive it. */
  #tooBig(topic: string, payload: Buffer, options: { qos: 0 | 1 | 2; retain: boolean; properties?: object }) {
    const max = this.#config.maxPacketSize;
    if (max === undefined) return false;
    const packet = { type: 'publish' as const, topic, payload, dup: false, packetId: 1, ...options };
    return publishPacketSize(packet, this.#config.protocolVersion) > max;
  }

  #setState(state: 0 | 1): void {
    if (state === this.state && state === 1) return;
    this.state = state;
    if (this.#config.notifications) this.#host.publishState(this.notificationTopic, String(state));
    if (state === 0 && this.#remote) this.#logger.warn({ remote: this.remoteClientId }, 'bridge: link down');
  }
}

/** The first topic whose filter (on the side the message came from) matches. */
function firstMatch(routes: readonly Route[], topic: string): Route | undefined {
  return routes.find((r) => topicMatches(r.filter, topic));
}
