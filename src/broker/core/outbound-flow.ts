// What one connection sends of routed messages: within the client's Receive Maximum and our
// in-flight cap (the rest waits in the session's queue), never larger than the client's Maximum
// Packet Size [MQTT-3.1.2-24 (v5)], with topic aliases assigned while the client allows them.

import {
  type Packet,
  type ProtocolVersion,
  type PublishPacket,
  publishPacketSize,
  withProperties,
} from '../../protocol/index.js';
import { type BrokerStats, countDenial } from './broker-stats.js';
import { type Message, propertiesAt } from './message.js';
import type { Clock, Logger, PacketChannel } from './ports.js';
import type { DeliveryOptions, QueuedDelivery, Session } from './session.js';

export interface PeerLimits {
  /** Unacknowledged QoS 1/2 messages the client accepts at once (its Receive Maximum, capped by ours). */
  readonly sendWindow: number;
  /** Largest packet the client accepts; Infinity when it set none. */
  readonly maximumPacketSize: number;
  /** Topic aliases the client accepts from us; 0 for none. */
  readonly topicAliasMaximum: number;
}

export class OutboundFlow {
  readonly #session: Session;
  readonly #version: ProtocolVersion;
  readonly #limits: PeerLimits;
  readonly #send: (packet: Packet) => void;
  readonly #clock: Clock;
  readonly #stats: BrokerStats;
  readonly #logger: Logger;
  readonly #channel: Pick<PacketChannel, 'congested'>;
  /** Topic -> alias given to the client; made on the first alias (only v5 clients that allow them). */
  #aliases: Map<string, number> | undefined;

  constructor(
    session: Session,
    version: ProtocolVersion,
    limits: PeerLimits,
    send: (packet: Packet) => void,
    deps: { channel: Pick<PacketChannel, 'congested'>; clock: Clock; stats: BrokerStats; logger: Logger },
  ) {
    this.#session = session;
    this.#version = version;
    this.#limits = limits;
    this.#send = send;
    this.#clock = deps.clock;
    this.#stats = deps.stats;
    this.#logger = deps.logger;
    this.#channel = deps.channel;
  }

  deliver(message: Message, options: DeliveryOptions): void {
    this.#send1(message, options, undefined);
  }

  /** Sends one message now, or keeps it queued; `item` is set when it comes from the session's queue. */
  #send1(message: Message, options: DeliveryOptions, item: QueuedDelivery | undefined): void {
    if (options.qos === 0 && this.#channel.congested) {
      // A subscriber that does not keep up loses QoS 0 messages rather than growing our buffers.
      this.#stats.messagesDroppedSlowConsumer++;
      if (item !== undefined) this.#session.discard(item);
      return;
    }
    if (options.qos > 0 && this.#session.outboundCount >= this.#limits.sendWindow) {
      this.#keep(message, options, item);
      return;
    }
    if (item !== undefined && this.#session.mayReceive?.(message.topic) === false) {
      // Queued under the rules of its day: a reload since may have taken the read right away.
      countDenial(this.#stats, 'receive');
      this.#session.discard(item);
      return;
    }
    const current = propertiesAt(message, this.#clock.now());
    if (current === 'expired') {
      this.#stats.messagesExpired++;
      if (item !== undefined) this.#session.discard(item);
      return;
    }
    const properties =
      options.subscriptionIdentifiers === undefined
        ? current
        : withProperties(current, { subscriptionIdentifiers: options.subscriptionIdentifiers });
    const packet: PublishPacket = {
      type: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos: options.qos,
      retain: options.retain,
      dup: false,
      packetId: options.qos > 0 ? 1 : undefined,
      properties,
    };
    if (publishPacketSize(packet, this.#version) > this.#limits.maximumPacketSize) {
      // [MQTT-3.1.2-25]: a message larger than the client accepts is discarded as if delivered.
      this.#stats.messagesDroppedTooLarge++;
      if (item !== undefined) this.#session.discard(item);
      this.#logger.debug(
        { topic: message.topic },
        'message larger than the client Maximum Packet Size; discarded',
      );
      return;
    }
    if (options.qos === 0) {
      // A queued QoS 0 message (queueQos0Messages) is done with once sent: at most once.
      if (item !== undefined) this.#session.discard(item);
      this.#sendWithAlias(packet);
      return;
    }
    const packetId = this.#session.allocatePacketId();
    if (packetId === undefined) {
      this.#keep(message, options, item);
      return;
    }
    const stored = { ...packet, packetId };
    this.#session.sent(message, options, item?.stored, stored);
    this.#sendWithAlias(stored);
  }

  /** Back to the queue (`item`, taken from it) or into it (a new message), to be sent later. */
  #keep(message: Message, options: DeliveryOptions, item: QueuedDelivery | undefined): void {
    if (item !== undefined) this.#session.enqueue(item, this.#stats);
    else this.#session.keep(message, options, this.#stats);
  }

  /** An acknowledgement freed a place in the window: send what waits. */
  drain(): void {
    const queue = this.#session.queue;
    while (queue.length > 0 && this.#session.outboundCount < this.#limits.sendWindow) {
      const before = queue.length;
      const next = queue.shift()!;
      this.#send1(next.message, next.options, next);
      if (queue.length === before) return; // it went back: no packet id is free
    }
  }

  /** After CONNECT resumed a session: unacknowledged messages again with DUP [MQTT-4.4.0-1], then the queue. */
  resume(): void {
    if (this.#session.outboundCount > 0)
      for (const [packetId, entry] of this.#session.outbound) {
        if (entry.awaiting === 'pubcomp') this.#send({ type: 'pubrel', packetId });
        else this.#sendWithAlias({ ...entry.packet, dup: true });
      }
    this.drain();
  }

  /** Replaces a topic the client has an alias for by the alias; assigns new ones while it allows. */
  #sendWithAlias(packet: PublishPacket): void {
    const max = this.#limits.topicAliasMaximum;
    if (max === 0) {
      this.#send(packet);
      return;
    }
    this.#aliases ??= new Map();
    const known = this.#aliases.get(packet.topic);
    if (known !== undefined) {
      this.#send({
        ...packet,
        topic: '',
        properties: withProperties(packet.properties, { topicAlias: known }),
      });
      return;
    }
    if (this.#aliases.size < max) {
      const alias = this.#aliases.size + 1;
      this.#aliases.set(packet.topic, alias);
      this.#send({ ...packet, properties: withProperties(packet.properties, { topicAlias: alias }) });
      return;
    }
    this.#send(packet);
  }
}
