// A bridge to another broker, as mosquitto's `connection` block: two of warden's own clients,
// one inside this broker (an in-process connection holding a persistent session) and one to the
// remote broker (verified as `warden pub` would verify it, reconnecting with backoff). A message
// is acknowledged to the side it came from only once the other side has acknowledged it, so an
// outgoing QoS 1/2 message waits in the local session (in the store, bounded by
// max_queued_messages) while the link is down, and an incoming one in the remote session.
// Loops: the local subscriptions are no-local; on MQTT 5 the remote ones too.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { ClientError, connect, type MqttClient, type ReceivedMessage } from '../../client/index.js';
import { topicMatches } from '../../protocol/index.js';
import type { BridgeConfig } from '../config/config-schema.js';
import type { Logger } from '../core/ports.js';

/** What the broker gives a bridge. */
export interface BridgeHost {
  /** A new in-process connection to this broker. */
  openLocal(name: string): Promise<Duplex>;
  /** Publishes the link's state here, retained (it is the broker's own, as $SYS is). */
  publishState(topic: string, payload: string): void;
}

type Topic = BridgeConfig['topics'][number];

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
  /**
   * Outgoing messages that came before the remote broker was first reached (a persistent local
   * session resumes its subscriptions at once): bounded by the local in-flight window.
   */
  #early: ReceivedMessage[] = [];
  /** The topics each way, sorted out once: every message is routed through them. */
  readonly #out: readonly Topic[];
  readonly #in: readonly Topic[];

  constructor(config: BridgeConfig, host: BridgeHost, logger: Logger) {
    this.name = config.name;
    this.#config = config;
    this.#out = config.topics.filter((t) => t.direction !== 'in');
    this.#in = config.topics.filter((t) => t.direction !== 'out');
    this.#host = host;
    this.#logger = logger.child({ bridge: config.name });
    this.remoteClientId = config.remoteClientId ?? `${hostname()}.${config.name}`;
    this.notificationTopic =
      config.notificationTopic ?? `$SYS/broker/connection/${this.remoteClientId}/state`;
  }

  /** Opens the local side now; the remote side connects in the background, for as long as it takes. */
  async start(): Promise<void> {
    this.#setState(0);
    const local = await connect('mqtt://bridge.local', {
      stream: () => this.#host.openLocal(this.name),
      clientId: this.#config.localClientId ?? `local.${this.remoteClientId}`,
      protocolVersion: 5,
      clean: false,
      sessionExpiryInterval: 0xffffffff,
      keepAlive: 0,
      manualAcks: true,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    this.#local = local;
    // From the client's inbox: a resumed session's messages may come with its CONNACK, before
    // any listener could be attached.
    void this.#drain(local, (message) => this.#outgoing(message));
    // Subscribed here at once, whatever the remote's state: what is published while the link is
    // down waits in this session (a resumed session has its subscriptions already).
    for (const t of this.#topics('out'))
      await local.subscribe(t.localPrefix + t.pattern, { qos: t.qos, noLocal: true });
    void this.#connectRemote();
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([this.#remote?.end({ timeoutMs: 1000 }), this.#local?.end({ timeoutMs: 1000 })]);
  }

  /** Connects to the first address that answers, again and again with backoff until one does. */
  async #connectRemote(): Promise<void> {
    const { base, cap } = this.#config.restartTimeout;
    for (let attempt = 0; !this.#stopped; attempt++) {
      const address = this.#config.addresses[attempt % this.#config.addresses.length]!;
      try {
        const remote = await connect(this.#remoteUrl(address), this.#remoteOptions());
        if (this.#stopped) {
          await remote.end({ timeoutMs: 500 });
          return;
        }
        this.#remote = remote;
        void this.#drain(remote, (message) => this.#incoming(message));
        remote.on('stage', (event: { stage: string }) => {
          if (event.stage === 'connected')
            this.#up().catch((error: Error) =>
              this.#logger.warn({ error: error.message }, 'bridge: subscribing after a reconnection failed'),
            );
          if (event.stage === 'disconnected') this.#setState(0);
        });
        await this.#up();
        return;
      } catch (error) {
        const reason = error instanceof ClientError ? error.message : String(error);
        this.#logger.warn(
          { address: `${address.host}:${address.port}`, reason },
          'bridge: remote broker not reached',
        );
        const delay = Math.min(cap, base * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay * 1000, MAX_TIMER_MS)).unref());
      }
    }
  }

  async #drain(client: MqttClient, handle: (message: ReceivedMessage) => void): Promise<void> {
    for await (const message of client.messages()) handle(message);
  }

  #remoteUrl(address: { host: string; port: number }): string {
    return `${this.#config.tls ? 'mqtts' : 'mqtt'}://${address.host}:${address.port}`;
  }

  #remoteOptions() {
    const c = this.#config;
    const tls = c.tls;
    return {
      clientId: this.remoteClientId,
      protocolVersion: c.protocolVersion,
      clean: c.cleanSession,
      ...(c.protocolVersion === 5 && !c.cleanSession && { sessionExpiryInterval: 0xffffffff }),
      keepAlive: c.keepAlive,
      ...(c.remoteUsername !== undefined && { username: c.remoteUsername }),
      ...(c.remotePassword !== undefined && { password: c.remotePassword }),
      ...(c.notifications && {
        will: { topic: this.notificationTopic, payload: '0', qos: 1 as const, retain: true },
      }),
      manualAcks: true,
      reconnect: {
        initialDelayMs: Math.min(c.restartTimeout.base * 1000, MAX_TIMER_MS),
        maxDelayMs: Math.min(c.restartTimeout.cap * 1000, MAX_TIMER_MS),
      },
      // What waits for the link is what the local session has in flight: its window bounds it.
      offlineQueueLimit: 100_000,
      ...(tls?.caFile && { caFile: tls.caFile }),
      ...(tls?.certFile &&
        tls.keyFile && { certificate: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
      ...(tls?.insecure && { skipHostnameCheck: true, onWarning: (m: string) => this.#logger.warn({}, m) }),
    };
  }

  /** Connected (again): the remote subscriptions (a resumed session keeps them), the state told. */
  async #up(): Promise<void> {
    const remote = this.#remote!;
    const noLocal = this.#config.protocolVersion === 5;
    for (const t of this.#topics('in'))
      await remote.subscribe(t.remotePrefix + t.pattern, { qos: t.qos, noLocal });
    this.#setState(1);
    for (const message of this.#early.splice(0)) this.#outgoing(message);
    if (this.#config.notifications)
      await remote.publish(this.notificationTopic, '1', { qos: 1, retain: true }).catch(() => undefined);
    this.#logger.info({ remote: this.remoteClientId }, 'bridge: connected');
  }

  #topics(direction: 'out' | 'in'): readonly Topic[] {
    return direction === 'out' ? this.#out : this.#in;
  }

  /** The first topic of this direction whose local (or remote) form matches. */
  #route(topic: string, direction: 'out' | 'in'): Topic | undefined {
    return this.#topics(direction).find((t) =>
      topicMatches(direction === 'out' ? t.localPrefix + t.pattern : t.remotePrefix + t.pattern, topic),
    );
  }

  /** A local message for the remote broker: acknowledged here once the remote has it. */
  #outgoing(message: ReceivedMessage): void {
    const route = this.#route(message.topic, 'out');
    const remote = this.#remote;
    if (route === undefined) return;
    if (remote === undefined) {
      this.#early.push(message);
      return;
    }
    const topic = swapPrefix(message.topic, route.localPrefix, route.remotePrefix);
    const qos = Math.min(message.qos, route.qos) as 0 | 1 | 2;
    remote
      .publish(topic, message.payload, {
        qos,
        retain: this.#config.outgoingRetain && message.retain,
        ...(this.#config.protocolVersion === 5 &&
          message.properties && { properties: forwardable(message.properties) }),
      })
      .then(() => message.ack?.())
      .catch((error: Error) =>
        this.#logger.warn({ topic, error: error.message }, 'bridge: not forwarded; kept here'),
      );
  }

  /** A remote message for this broker: acknowledged to the remote once this broker has it. */
  #incoming(message: ReceivedMessage): void {
    const route = this.#route(message.topic, 'in');
    const local = this.#local;
    if (route === undefined || local === undefined) return;
    const topic = swapPrefix(message.topic, route.remotePrefix, route.localPrefix);
    const qos = Math.min(message.qos, route.qos) as 0 | 1 | 2;
    local
      .publish(topic, message.payload, { qos, retain: message.retain })
      .then(() => message.ack?.())
      .catch((error: Error) =>
        this.#logger.warn({ topic, error: error.message }, 'bridge: not delivered here'),
      );
  }

  #setState(state: 0 | 1): void {
    if (state === this.state && state === 1) return;
    this.state = state;
    if (this.#config.notifications) this.#host.publishState(this.notificationTopic, String(state));
    if (state === 0 && this.#remote) this.#logger.warn({ remote: this.remoteClientId }, 'bridge: link down');
  }
}

/** What travels with a message (not its topic alias or the subscription identifiers it came with). */
function forwardable(properties: NonNullable<ReceivedMessage['properties']>) {
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, ...rest } = properties;
  return rest;
}
