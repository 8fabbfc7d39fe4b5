// The broker core with in-memory channels and a manual clock: a test connects clients by handing
// packets to the core and reads what the core sent back, with no socket in between.

import { BrokerCore, type CoreOptions, coreDefaults } from '../../src/broker/core/broker-core.js';
import { Connection } from '../../src/broker/core/connection.js';
import type { ListenerPolicy } from '../../src/broker/core/listener-policy.js';
import type { Logger, PacketChannel } from '../../src/broker/core/ports.js';
import { MemoryStore } from '../../src/broker/persistence/memory-store.js';
import type {
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
} from '../../src/protocol/index.js';
import { ManualClock } from './manual-clock.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

export class MemoryChannel implements PacketChannel {
  readonly remoteAddress = 'memory:1';
  readonly sent: Packet[] = [];
  closed = false;
  congested = false;
  version: ProtocolVersion = 4;

  send(packet: Packet): void {
    if (!this.closed) this.sent.push(packet);
  }

  setProtocolVersion(version: ProtocolVersion): void {
    this.version = version;
  }

  close(): void {
    this.closed = true;
  }
}

export class TestClient {
  readonly channel = new MemoryChannel();
  readonly connection: Connection;
  #read = 0;

  constructor(core: BrokerCore, listener?: ListenerPolicy) {
    this.connection = new Connection(core, this.channel, listener);
  }

  send(packet: Packet): void {
    this.connection.handle(packet);
  }

  /** Takes the next packet sent to this client, if any, leaving the rest unread. */
  next(): Packet | undefined {
    const packet = this.channel.sent[this.#read];
    if (packet !== undefined) this.#read++;
    return packet;
  }

  /** Packets sent to this client since the last call. */
  received(): Packet[] {
    const fresh = this.channel.sent.slice(this.#read);
    this.#read = this.channel.sent.length;
    return fresh;
  }

  /** Received PUBLISH packets since the last call (other packets are consumed too). */
  publishes(): PublishPacket[] {
    return this.received().filter((p): p is PublishPacket => p.type === 'publish');
  }

  /** The transport drops (no DISCONNECT). */
  drop(): void {
    this.connection.closed();
  }

  publish(topic: string, payload: string, qos: QoS = 0, extra: Partial<PublishPacket> = {}): void {
    this.send({
      type: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: false,
      dup: false,
      packetId: qos > 0 ? (extra.packetId ?? 1) : undefined,
      ...extra,
    });
  }

  subscribe(
    topicFilter: string,
    qos: QoS = 0,
    extra: Partial<{
      noLocal: boolean;
      retainAsPublished: boolean;
      retainHandling: 0 | 1 | 2;
      properties: Properties;
      packetId: number;
    }> = {},
  ): void {
    this.send({
      type: 'subscribe',
      packetId: extra.packetId ?? 1,
      subscriptions: [
        {
          topicFilter,
          qos,
          noLocal: extra.noLocal ?? false,
          retainAsPublished: extra.retainAsPublished ?? false,
          retainHandling: extra.retainHandling ?? 0,
        },
      ],
      properties: extra.properties,
    });
  }
}

export class CoreHarness {
  readonly clock: ManualClock;
  readonly core: BrokerCore;
  #ids = 0;

  constructor(options: Partial<Omit<CoreOptions, 'clock'>> & { clock?: ManualClock } = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.core = new BrokerCore({
      ...coreDefaults,
      store: new MemoryStore(),
      logger: silent,
      newClientId: () => `assigned-${++this.#ids}`,
      ...options,
      clock: this.clock,
    });
  }

  /** Resolves once every store write so far has committed and the acknowledgements behind it went out. */
  settled(): Promise<void> {
    return this.core.commits.drained();
  }

  /** connect() on a durable store: the CONNACK goes out once the session is committed. */
  async connectDurably(
    clientId: string,
    options: Partial<ConnectPacket> = {},
  ): Promise<{ client: TestClient; connack: Packet }> {
    const client = new TestClient(this.core);
    client.send(connectPacket(clientId, options));
    await this.settled();
    const connack = client.next();
    if (connack?.type !== 'connack') throw new Error(`expected CONNACK, got ${connack?.type}`);
    return { client, connack };
  }

  /** A connected client subscribed to one filter, with its CONNACK and SUBACK consumed. */
  subscriber(
    clientId: string,
    filter: string,
    qos: QoS = 0,
    options: Partial<ConnectPacket> = {},
  ): TestClient {
    const { client } = this.connect(clientId, options);
    client.subscribe(filter, qos);
    client.received();
    return client;
  }

  /** A client that sent CONNECT; its CONNACK is consumed and returned. */
  connect(
    clientId: string,
    options: Partial<ConnectPacket> = {},
    listener?: ListenerPolicy,
  ): { client: TestClient; connack: Packet } {
    const client = new TestClient(this.core, listener);
    client.send(connectPacket(clientId, options));
    const connack = client.next();
    if (connack?.type !== 'connack') throw new Error(`expected CONNACK, got ${connack?.type}`);
    return { client, connack };
  }
}

/** A v5 CONNECT, clean start, no keep alive, unless `options` say otherwise. */
export function connectPacket(clientId: string, options: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: 5,
    clean: true,
    keepAlive: 0,
    clientId,
    ...options,
  };
}
