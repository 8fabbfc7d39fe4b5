// The client's MQTT session state, pure: packet identifiers, QoS 1/2 messages in flight, the
// bounded offline queue, incoming QoS 2 not yet released, outbound topic aliases. Each method
// takes what arrived and returns the packets to send; the caller owns the socket and the promises.
// Nothing a caller was promised is dropped across a reconnect: messages in flight are sent again.

import {
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  withProperties,
} from '../protocol/index.js';

export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: Properties;
}

/** A QoS 1/2 message finished: acknowledged (reason code < 0x80) or refused. */
export interface Completion {
  readonly packetId: number;
  readonly reasonCode: number;
  readonly ack: 'puback' | 'pubrec' | 'pubcomp';
}

export interface Step {
  readonly send: Packet[];
  readonly completed?: Completion;
}

interface InFlight {
  readonly message: OutgoingMessage;
  /** publish: waiting for PUBACK/PUBREC; pubrel: PUBREL sent, waiting for PUBCOMP. */
  stage: 'publish' | 'pubrel';
}

export interface ClientSessionOptions {
  readonly version: ProtocolVersion;
  /** Most QoS 1/2 messages in flight (the broker's Receive Maximum lowers it). */
  readonly maxInflight: number;
  /** Most messages waiting while offline or over the in-flight limit. */
  readonly queueLimit: number;
}

export class ClientSession {
  readonly #options: ClientSessionOptions;
  #online = false;
  #nextId = 1;
  #sendQuota: number;
  readonly #inflight = new Map<number, InFlight>();
  /** Waiting for a connection or for room in flight; QoS 0 has no id. */
  readonly #queue: Array<{ packetId?: number; message: OutgoingMessage }> = [];
  readonly #incomingQos2 = new Set<number>();
  /** Every id in use: messages queued or in flight, SUBSCRIBE / UNSUBSCRIBE awaiting their ack. */
  readonly #reserved = new Set<number>();
  #aliasMaximum = 0;
  readonly #aliases = new Map<string, number>();

  constructor(options: ClientSessionOptions) {
    this.#options = options;
    this.#sendQuota = options.maxInflight;
  }

  get online(): boolean {
    return this.#online;
  }

  /** QoS 1/2 messages not yet completed, sent or queued. */
  get pending(): number {
    return this.#inflight.size + this.#queue.filter((q) => q.packetId !== undefined).length;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Publishes now, or queues (offline, or the in-flight window is full). Returns the packet id
   * the completion will carry (QoS 1/2), or throws when the queue is full.
   */
  publish(message: OutgoingMessage): { packetId?: number; send: Packet[] } {
    const packetId = message.qos > 0 ? this.#allocate() : undefined;
    if (this.#online && (packetId === undefined || this.#inflight.size < this.#sendQuota)) {
      if (packetId !== undefined) this.#inflight.set(packetId, { message, stage: 'publish' });
      return { packetId, send: [this.#publishPacket(message, packetId, false)] };
    }
    if (this.#queue.length >= this.#options.queueLimit) {
      if (packetId !== undefined) this.#release(packetId);
      throw new RangeError(`offline queue full (${this.#options.queueLimit} messages)`);
    }
    this.#queue.push({ packetId, message });
    return { packetId, send: [] };
  }

  /** An id for SUBSCRIBE / UNSUBSCRIBE; give it back with releaseId. */
  allocateId(): number {
    return this.#allocate();
  }

  releaseId(id: number): void {
    this.#reserved.delete(id);
  }

  /**
   * CONNACK accepted: what to send first. With the session present, the messages in flight go
   * again as the spec says (PUBLISH with DUP, PUBREL) [MQTT-4.4.0-1]; without it they go again as
   * new, since the broker lost them. Then the queue, within the broker's Receive Maximum.
   */
  connected(sessionPresent: boolean, properties: Properties | undefined): Packet[] {
    this.#online = true;
    this.#sendQuota = Math.min(this.#options.maxInflight, properties?.receiveMaximum ?? 65_535);
    this.#aliasMaximum = this.#options.version === 5 ? (properties?.topicAliasMaximum ?? 0) : 0;
    this.#aliases.clear();
    if (!sessionPresent) this.#incomingQos2.clear();
    const send: Packet[] = [];
    for (const [packetId, entry] of this.#inflight) {
      if (entry.stage === 'pubrel') send.push({ type: 'pubrel', packetId });
      else send.push(this.#publishPacket(entry.message, packetId, sessionPresent));
    }
    send.push(...this.#drain());
    return send;
  }

  disconnected(): void {
    this.#online = false;
  }

  /** PUBACK, PUBREC or PUBCOMP for one of ours. */
  acknowledged(packet: Packet & { type: 'puback' | 'pubrec' | 'pubcomp' }): Step {
    const entry = this.#inflight.get(packet.packetId);
    if (entry === undefined) return { send: [] };
    const reasonCode = packet.reasonCode ?? 0;
    if (packet.type === 'pubrec' && reasonCode < 0x80) {
      entry.stage = 'pubrel';
      return { send: [{ type: 'pubrel', packetId: packet.packetId }] };
    }
    this.#inflight.delete(packet.packetId);
    this.#release(packet.packetId);
    return {
      send: this.#drain(),
      completed: { packetId: packet.packetId, reasonCode, ack: packet.type },
    };
  }

  /** An incoming PUBLISH: whether to hand it to the program, and the acknowledgement. */
  received(packet: PublishPacket): { deliver: boolean; send: Packet[] } {
    const packetId = packet.packetId;
    if (packet.qos === 0 || packetId === undefined) return { deliver: true, send: [] };
    if (packet.qos === 1) return { deliver: true, send: [{ type: 'puback', packetId }] };
    // QoS 2: delivered once; a resent PUBLISH before PUBREL is acknowledged again, not delivered.
    const first = !this.#incomingQos2.has(packetId);
    this.#incomingQos2.add(packetId);
    return { deliver: first, send: [{ type: 'pubrec', packetId }] };
  }

  released(packetId: number): Packet[] {
    this.#incomingQos2.delete(packetId);
    return [{ type: 'pubcomp', packetId }];
  }

  /** Everything not completed, for a client that ends without waiting. */
  abandon(): number[] {
    const ids = [
      ...this.#inflight.keys(),
      ...this.#queue.flatMap((q) => (q.packetId === undefined ? [] : [q.packetId])),
    ];
    this.#inflight.clear();
    this.#queue.length = 0;
    for (const id of ids) this.#release(id);
    return ids;
  }

  #drain(): Packet[] {
    const send: Packet[] = [];
    while (this.#online && this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (next.packetId !== undefined && this.#inflight.size >= this.#sendQuota) break;
      this.#queue.shift();
      if (next.packetId !== undefined)
        this.#inflight.set(next.packetId, { message: next.message, stage: 'publish' });
      send.push(this.#publishPacket(next.message, next.packetId, false));
    }
    return send;
  }

  #publishPacket(message: OutgoingMessage, packetId: number | undefined, dup: boolean): PublishPacket {
    let topic = message.topic;
    let properties = message.properties;
    if (this.#aliasMaximum > 0) {
      // The first PUBLISH on a topic sets an alias; later ones send the alias and an empty topic.
      const known = this.#aliases.get(topic);
      if (known !== undefined) {
        properties = withProperties(properties, { topicAlias: known });
        topic = '';
      } else if (this.#aliases.size < this.#aliasMaximum) {
        const alias = this.#aliases.size + 1;
        this.#aliases.set(topic, alias);
        properties = withProperties(properties, { topicAlias: alias });
      }
    }
    return {
      type: 'publish',
      topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      dup: dup && message.qos > 0,
      packetId,
      properties,
    };
  }

  #allocate(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff ? 1 : id + 1;
      if (!this.#reserved.has(id)) {
        this.#reserved.add(id);
        return id;
      }
    }
    throw new RangeError('no free packet identifier: 65,535 messages in flight');
  }

  #release(id: number): void {
    this.#reserved.delete(id);
  }
}
